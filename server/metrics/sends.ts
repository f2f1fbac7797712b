import type { Metrics } from './metrics.ts'

/** What a send came to: stored (`accepted`), answered with the earlier store (`duplicate`), or refused with a code. */
export type SendOutcome = { ok: true; duplicate: boolean } | { ok: false; code: string }

/** ferry_sends_total{result, transport}: the result is `accepted`, `duplicate` or the error code (a short fixed list). */
export function countSend(metrics: Pick<Metrics, 'sends'>, transport: 'ws' | 'http', outcome: SendOutcome): void {
  const result = outcome.ok ? (outcome.duplicate ? 'duplicate' : 'accepted') : outcome.code
  metrics.sends.inc({ result, transport })
}
