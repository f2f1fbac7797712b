import { BUS_MAX_CONTROL_BYTES, type ControlMessage } from '../bus.ts'

type NodeState = Extract<ControlMessage, { kind: 'node-state' }>

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value))

/**
 * A node's presence and focus as `node-state` messages, each encoded within
 * `maxBytes` (a NOTIFY payload stops at 8,000 bytes). Always at least one
 * message, empty when the node has nothing: the receiver counts a state as
 * complete at the `node-alive` that follows its chunks (docs/SCALING.md), so
 * an empty state still says "nothing here any more".
 */
export function chunkNodeState(
  nodeId: string,
  present: readonly [string, string, string][],
  focused: readonly [string, string][],
  maxBytes = BUS_MAX_CONTROL_BYTES,
): NodeState[] {
  const chunks: NodeState[] = []
  const empty = (): NodeState => ({ kind: 'node-state', nodeId, present: [], focused: [] })
  const base = bytes(empty())
  let chunk = empty()
  let size = base
  const makeRoom = (entryBytes: number) => {
    // +1: the comma before every entry but the first of its array (counted for all: a byte of slack).
    if (size + entryBytes + 1 <= maxBytes) return
    if (chunk.present.length + chunk.focused.length === 0) throw new Error('one node-state entry exceeds the limit')
    chunks.push(chunk)
    chunk = empty()
    size = base
  }
  for (const entry of present) {
    const entryBytes = bytes(entry)
    makeRoom(entryBytes)
    chunk.present.push([...entry])
    size += entryBytes + 1
  }
  for (const entry of focused) {
    const entryBytes = bytes(entry)
    makeRoom(entryBytes)
    chunk.focused.push([...entry])
    size += entryBytes + 1
  }
  chunks.push(chunk)
  return chunks
}
