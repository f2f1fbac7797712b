import { useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import { authenticate, discardHeld } from '../state/actions.ts'
import { heldText } from '../state/reducers.ts'
import { heldFor } from '../state/store.ts'

/** What an ended session left on this device, and for whom: never kept without the person knowing. discardHeld reports its own failure. */
function HeldNotice() {
  const held = heldFor.value
  if (!held) return null
  return (
    <div class="card held">
      <p role="status">{heldText(held)}</p>
      <button type="button" class="secondary" onClick={() => void discardHeld()}>
        Discard {held.unsent > 0 ? (held.unsent === 1 ? 'it' : 'them') : 'the drafts'}
      </button>
    </div>
  )
}

export function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'signup'>('login')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (event: SubmitEvent) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(await authenticate(mode, String(form.get('username')), String(form.get('password'))))
    setBusy(false)
  }

  const title = mode === 'login' ? 'Log in' : 'Sign up'
  return (
    <main class="auth">
      <h1 class="auth__brand">Ferry</h1>
      <HeldNotice />
      <form class="card auth__form" onSubmit={submit}>
        <h2>{title}</h2>
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autocomplete="username"
            autocapitalize="none"
            required
            minLength={mode === 'signup' ? LIMITS.usernameMin : 1}
            maxLength={LIMITS.usernameMax}
            pattern={mode === 'signup' ? LIMITS.usernamePattern.slice(1, -1) : undefined}
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'signup' ? LIMITS.passwordMin : 1}
            maxLength={LIMITS.passwordMax}
          />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {title}
        </button>
        <button
          type="button"
          class="link-button"
          onClick={() => {
            setError(null)
            setMode(mode === 'login' ? 'signup' : 'login')
          }}
        >
          {mode === 'login' ? 'New here? Create an account' : 'Have an account? Log in'}
        </button>
      </form>
    </main>
  )
}
