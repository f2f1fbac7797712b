/**
 * The two other halves of a search, behind one door: the device's own index
 * (client/search/device.ts, `searchDevice`) and the merge of its hits with the server's
 * (client/search/merge.ts, `mergeHits`: server wins, duplicates by `(roomId, seq)` removed).
 * The search state (state/search.ts) reaches them only through here, so tests replace this file.
 */
import { hitKey, type SearchHit } from '../../shared/search/contract.ts'

export interface DeviceSearch {
  /** One room; every cached room when absent. */
  roomId?: string
  limit: number
}

/** Hits from the messages cached on this device, newest first. */
export async function searchDevice(_q: string, _options: DeviceSearch): Promise<SearchHit[]> {
  return []
}

/** The server's hits, then the device's it did not have; newest first. */
export function mergeHits(server: readonly SearchHit[], device: readonly SearchHit[]): SearchHit[] {
  const seen = new Set(server.map(hitKey))
  return [...server, ...device.filter((hit) => !seen.has(hitKey(hit)))].sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt),
  )
}
