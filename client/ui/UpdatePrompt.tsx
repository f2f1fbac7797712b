import { applyUpdate } from '../state/store.ts'

export function UpdatePrompt() {
  const apply = applyUpdate.value
  if (!apply) return null
  return (
    <div class="update" role="alert">
      <span>A new version is ready</span>
      <button type="button" class="primary" onClick={apply}>
        Reload
      </button>
    </div>
  )
}
