/**
 * One result list from the server's answer and the device's (issue 12): the
 * server's copy of a message wins (it knows edits the device may not have
 * heard), a device hit the server also found is dropped (`hitKey`:
 * `(roomId, seq)`), and the list reads newest first.
 */
import { hitKey, type SearchHit } from '../../shared/search/contract.ts'

/** Newest first; at the same instant by room then seq, newest seq first, so the order never depends on input order. */
export function newestFirst(a: SearchHit, b: SearchHit): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1
  if (a.roomId !== b.roomId) return a.roomId < b.roomId ? 1 : -1
  return b.seq - a.seq
}

export function mergeHits(server: readonly SearchHit[], device: readonly SearchHit[]): SearchHit[] {
  const seen = new Set<string>()
  const out: SearchHit[] = []
  for (const hit of [...server, ...device]) {
    const key = hitKey(hit)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(hit)
  }
  return out.sort(newestFirst)
}
