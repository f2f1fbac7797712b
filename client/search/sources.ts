/**
 * The two other halves of a search, behind one door: the device's own index
 * (client/search/device.ts, `searchDevice`, and `deviceIndexComplete`: false while older
 * messages are still being indexed) and the merge of its hits with the server's
 * (client/search/merge.ts, `mergeHits`: server wins, duplicates by `(roomId, seq)` removed,
 * newest first). The search state (state/search.ts) reaches them only through here, so its
 * tests replace this one module.
 */
export { type DeviceSearchOptions, deviceIndexComplete, searchDevice } from './device.ts'
export { mergeHits } from './merge.ts'
