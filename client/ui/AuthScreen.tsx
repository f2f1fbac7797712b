import { useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import { heldText } from '../state/reducers.ts'
import { authenticate, discardHeld } from '../state/session.ts'
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

/** Sign-up's rules, said before the person types (and in the browser's own message when a field is refused). */
const USERNAME_RULES = `${LIMITS.usernameMin}–${LIMITS.usernameMax} characters: letters, numbers, _ and -`
const PASSWORD_RULES = `At least ${LIMITS.passwordMin} characters.`

export function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'signup'>('login')
  // Kept across a switch of mode: the form is rebuilt (below), the name typed so far is not lost.
  const [username, setUsername] = useState('')
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
  const signup = mode === 'signup'
  return (
    <main class="auth">
      <h1 class="auth__brand">Ferry</h1>
      <HeldNotice />
      {/* One form per mode (key): Preact cannot take a `pattern` back off an input (it leaves pattern="",
          which refuses every name), so logging in after a look at sign-up needs a fresh input. */}
      <form key={mode} class="card auth__form" onSubmit={submit}>
        <h2>{title}</h2>
        <div class="field">
          <label for="auth-username">Username</label>
          <input
            id="auth-username"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            required
            value={username}
            onInput={(event) => setUsername((event.currentTarget as HTMLInputElement).value)}
            maxLength={LIMITS.usernameMax}
            {...(signup
              ? {
                  minLength: LIMITS.usernameMin,
                  pattern: LIMITS.usernamePattern.slice(1, -1),
                  title: USERNAME_RULES,
                  'aria-describedby': 'username-rules',
                }
              : {})}
          />
          {signup && (
            <small id="username-rules" class="field__hint">
              {USERNAME_RULES}
            </small>
          )}
        </div>
        <div class="field">
          <label for="auth-password">Password</label>
          <input
            id="auth-password"
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            maxLength={LIMITS.passwordMax}
            {...(signup ? { minLength: LIMITS.passwordMin, 'aria-describedby': 'password-rules' } : {})}
          />
          {signup && (
            <small id="password-rules" class="field__hint">
              {PASSWORD_RULES}
            </small>
          )}
        </div>
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
