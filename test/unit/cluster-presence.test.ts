import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Metrics } from '../../server/metrics/metrics.ts'
import { BUS_MAX_CONTROL_BYTES, NODE_EXPIRY_MS, NODE_HEARTBEAT_MS } from '../../server/realtime/bus.ts'
import { type AccessHandlers, ClusterNode } from '../../server/realtime/cluster/cluster-node.ts'
import { readControl } from '../../server/realtime/cluster/control-schema.ts'
import { chunkNodeState } from '../../server/realtime/cluster/node-state.ts'
import { PresenceDirectory } from '../../server/realtime/cluster/presence-directory.ts'
import { FocusRegistry } from '../../server/realtime/focus.ts'
import { Hub, type Subscriber } from '../../server/realtime/hub.ts'
import type { PresenceUser, ServerFrame } from '../../shared/protocol.ts'
import { BusNetwork, type NetworkBus } from '../support/bus-network.ts'
import { FakeClock } from '../support/fake-clock.ts'

const ROOM = randomUUID()
const user = (username: string): PresenceUser => ({ userId: randomUUID(), username })

/** A socket as the hub sees it, live in every room it was attached to. */
class FakeSocket implements Subscriber {
  readonly frames: ServerFrame[] = []
  readonly speaksReceipts = false
  constructor(readonly user: PresenceUser) {}
  deliver(): void {}
  isLive(): boolean {
    return true
  }
  sentUpTo(): number {
    return 0
  }
  sendShared(frame: Buffer): void {
    this.frames.push(JSON.parse(frame.toString()) as ServerFrame)
  }
  of<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((frame) => frame.type === type) as Extract<ServerFrame, { type: T }>[]
  }
}

interface TestNode {
  bus: NetworkBus
  hub: Hub
  focus: FocusRegistry
  cluster: ClusterNode
  warnings: { kind?: string; dropped?: number }[]
  access: string[]
  metrics: Metrics
  /** A socket of `who` that goes live in the room on this node (counted present). */
  live(who: PresenceUser, roomId?: string): FakeSocket
  /** A watcher that follows the room without being counted (sees presence frames). */
  watch(roomId?: string): FakeSocket
  gone(socket: FakeSocket, roomId?: string): void
}

describe('cluster presence, typing and focus', () => {
  let network: BusNetwork
  let clock: FakeClock
  const nodes: TestNode[] = []

  function node({ start = true } = {}): TestNode {
    const bus = network.bus()
    const hub = new Hub(
      bus,
      5_000,
      (error) => {
        throw error
      },
      { now: () => clock.now() },
    )
    const focus = new FocusRegistry()
    const warnings: { kind?: string; dropped?: number }[] = []
    const accessSeen: string[] = []
    const access: AccessHandlers = {
      sessionEnded: (sessionId) => accessSeen.push(`session-ended ${sessionId}`),
      leftRoom: (roomId, userId) => accessSeen.push(`left-room ${roomId} ${userId}`),
      roomDeleted: (roomId) => accessSeen.push(`room-deleted ${roomId}`),
    }
    const log = {
      warn: (fields: { kind?: string; dropped?: number }) => warnings.push(fields),
      error: (fields: unknown) => {
        throw new Error(`cluster error logged: ${JSON.stringify(fields)}`)
      },
      debug: () => {},
    }
    const metrics = new Metrics()
    const cluster = new ClusterNode({ bus, hub, focus, access, log: log as never, clock, metrics })
    if (start) cluster.start()
    const made: TestNode = {
      bus,
      hub,
      focus,
      cluster,
      warnings,
      access: accessSeen,
      metrics,
      live(who, roomId = ROOM) {
        const socket = new FakeSocket(who)
        hub.attach(roomId, socket)
        hub.join(roomId, socket)
        return socket
      },
      watch(roomId = ROOM) {
        const socket = new FakeSocket(user('watcher'))
        hub.attach(roomId, socket)
        return socket
      },
      gone(socket, roomId = ROOM) {
        hub.detach(roomId, socket)
        hub.leave(roomId, socket)
      },
    }
    nodes.push(made)
    return made
  }

  function setUp() {
    network = new BusNetwork()
    clock = new FakeClock()
  }

  afterEach(() => {
    for (const { cluster, hub } of nodes.splice(0)) {
      cluster.stop()
      hub.close()
    }
  })

  it('the directory counts a user once across nodes: one node of two leaving changes nothing', () => {
    const directory = new PresenceDirectory()
    const ada = user('ada')
    expect(directory.add('a', ROOM, ada)).toEqual({ kind: 'join', roomId: ROOM, user: ada })
    expect(directory.add('b', ROOM, ada)).toBeUndefined()
    expect(directory.users(ROOM)).toEqual([ada])
    expect(directory.remove('a', ROOM, ada.userId)).toBeUndefined()
    expect(directory.remove('b', ROOM, ada.userId)).toEqual({ kind: 'leave', roomId: ROOM, userId: ada.userId })
    expect(directory.users(ROOM)).toEqual([])
    directory.add('a', ROOM, ada)
    directory.add('b', ROOM, ada)
    expect(directory.dropNode('a')).toEqual([])
    expect(directory.dropNode('b')).toEqual([{ kind: 'leave', roomId: ROOM, userId: ada.userId }])
  })

  it('presence_join and presence_leave cross nodes, once per user however many nodes hold them', async () => {
    setUp()
    const [a, b, c] = [node(), node(), node()]
    await network.settle()
    const watcher = c.watch()
    const ada = user('ada')
    const onA = a.live(ada)
    await network.settle()
    const onB = b.live(ada)
    await network.settle()
    expect(watcher.of('presence_join')).toEqual([{ type: 'presence_join', roomId: ROOM, user: ada }])
    expect(c.hub.presentUsers(ROOM)).toEqual([ada])

    a.gone(onA)
    await network.settle()
    expect(watcher.of('presence_leave')).toEqual([])
    expect(c.hub.presentUsers(ROOM)).toEqual([ada])
    b.gone(onB)
    await network.settle()
    expect(watcher.of('presence_leave')).toEqual([{ type: 'presence_leave', roomId: ROOM, userId: ada.userId }])
    expect(c.hub.presentUsers(ROOM)).toEqual([])
    // The publisher's own watchers hear it too, at once.
    const localWatcher = a.watch()
    a.live(ada)
    expect(localWatcher.of('presence_join')).toHaveLength(1)
  })

  it('typing crosses nodes, and a node that goes silent leaves presence after NODE_EXPIRY_MS', async () => {
    setUp()
    const [a, b] = [node(), node()]
    await network.settle()
    const watcher = b.watch()
    const ada = user('ada')
    const grace = user('grace')
    a.live(ada)
    a.live(grace)
    b.live(grace) // grace is also on b: she stays
    a.hub.typing(ROOM, ada)
    await network.settle()
    expect(watcher.of('typing')).toEqual([
      { type: 'typing', roomId: ROOM, userId: ada.userId, username: 'ada', expiresInMs: 5_000 },
    ])

    // a is killed: nothing from it reaches b any more.
    network.dropWhen((_delivery, from) => from === a.bus.nodeId)
    clock.advance(NODE_EXPIRY_MS - 1)
    await network.settle()
    expect(watcher.of('presence_leave')).toEqual([])
    // b keeps beating meanwhile; a's silence is what counts.
    expect(b.cluster.peers).toEqual([a.bus.nodeId])
    clock.advance(1)
    expect(b.cluster.peers).toEqual([])
    expect((await b.metrics.clusterNodesExpired.get()).values[0]?.value).toBe(1)
    expect(watcher.of('presence_leave')).toEqual([{ type: 'presence_leave', roomId: ROOM, userId: ada.userId }])
    // ada's typing had run out on the clients by then (5 s): nothing more to say (node-gone ends a running one).
    expect(watcher.of('typing')).toHaveLength(1)
    expect(b.hub.presentUsers(ROOM)).toEqual([grace])
  })

  it('a node heard from keeps its presence however long it lives (heartbeats)', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const ada = user('ada')
    a.live(ada)
    for (let i = 0; i < 10; i++) {
      clock.advance(NODE_HEARTBEAT_MS)
      await network.settle()
    }
    expect(b.hub.presentUsers(ROOM)).toEqual([ada])
    expect(b.cluster.peers).toEqual([a.bus.nodeId])
  })

  it('node-gone at a clean shutdown drops the node at once, and its sockets closing after it publish nothing', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const watcher = b.watch()
    const ada = user('ada')
    const socket = a.live(ada)
    a.hub.typing(ROOM, ada)
    a.focus.add(ROOM, ada.userId)
    await network.settle()
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(true)
    a.cluster.stop()
    a.gone(socket)
    await network.settle()
    expect(watcher.of('presence_leave')).toHaveLength(1)
    expect(watcher.of('typing').at(-1)?.expiresInMs).toBe(0)
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(false)
    expect(b.cluster.peers).toEqual([])
  })

  it('a node that starts late learns everyone present and focused from state-request answers, chunked within the limit', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const people = Array.from({ length: 300 }, (_, i) => user(`user_${String(i).padStart(3, '0')}_x`))
    const rooms = [randomUUID(), randomUUID()]
    for (const [i, person] of people.entries()) {
      ;(i % 2 ? a : b).live(person, rooms[i % 2])
      ;(i % 2 ? a : b).focus.add(rooms[i % 2]!, person.userId)
    }
    await network.settle()
    const sizes: number[] = []
    network.dropWhen((delivery) => {
      if (delivery.channel === 'control') {
        const message = delivery.message as { kind: string }
        if (message.kind === 'node-state') sizes.push(Buffer.byteLength(JSON.stringify(message)))
      }
      return false
    })
    const c = node()
    await network.settle()
    expect(c.hub.presentUsers(rooms[0]!)).toHaveLength(150)
    expect(c.hub.presentUsers(rooms[1]!)).toHaveLength(150)
    expect(c.focus.focusedUsers(rooms[1]!)).toHaveLength(150)
    // a's and b's answers, several chunks each, every one within the limit (NetworkBus refuses bigger ones).
    expect(sizes.length).toBeGreaterThan(4)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(BUS_MAX_CONTROL_BYTES)
  })

  it('chunkNodeState splits at the byte limit and loses nothing, multi-byte names included', () => {
    const present = Array.from({ length: 500 }, (_, i): [string, string, string] => [
      randomUUID(),
      randomUUID(),
      `ünïcödé_${i}`,
    ])
    const focused = Array.from({ length: 200 }, (): [string, string] => [randomUUID(), randomUUID()])
    const chunks = chunkNodeState('node', present, focused, 2_000)
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(2_000)
    expect(chunks.flatMap((chunk) => chunk.present)).toEqual(present)
    expect(chunks.flatMap((chunk) => chunk.focused)).toEqual(focused)
    expect(chunkNodeState('node', [], [])).toEqual([{ kind: 'node-state', nodeId: 'node', present: [], focused: [] }])
  })

  it('after a resync, a full state replaces what was missed: a leave lost on the wire is applied', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const watcher = b.watch()
    const ada = user('ada')
    const grace = user('grace')
    const adaSocket = a.live(ada)
    a.live(grace)
    a.focus.add(ROOM, ada.userId)
    await network.settle()
    expect(b.hub.presentUsers(ROOM)).toHaveLength(2)
    // b's connection drops; meanwhile ada leaves and unfocuses on a; b loses all of it.
    b.bus.hold()
    a.gone(adaSocket)
    a.focus.remove(ROOM, ada.userId)
    await network.settle()
    b.bus.release({ lose: true })
    expect(b.hub.presentUsers(ROOM)).toHaveLength(2)
    b.bus.resync()
    await network.settle()
    expect(b.hub.presentUsers(ROOM)).toEqual([grace])
    expect(watcher.of('presence_leave')).toEqual([{ type: 'presence_leave', roomId: ROOM, userId: ada.userId }])
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(false)
  })

  it('a control message lost with nobody resyncing (the publisher failed to send it) is healed by the minutely full state', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const watcher = b.watch()
    const ada = user('ada')
    const socket = a.live(ada)
    a.focus.add(ROOM, ada.userId)
    await network.settle()
    network.dropWhen(
      (delivery) =>
        delivery.channel === 'control' && ['presence', 'focus'].includes((delivery.message as { kind: string }).kind),
    )
    a.gone(socket)
    a.focus.remove(ROOM, ada.userId)
    await network.settle()
    network.dropWhen(undefined)
    expect(b.hub.presentUsers(ROOM)).toEqual([ada])
    for (let beat = 0; beat < 6; beat++) {
      clock.advance(NODE_HEARTBEAT_MS)
      await network.settle()
    }
    expect(b.hub.presentUsers(ROOM)).toEqual([])
    expect(watcher.of('presence_leave')).toEqual([{ type: 'presence_leave', roomId: ROOM, userId: ada.userId }])
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(false)
  })

  it('focus held on another node counts for the away check, and ends with that node', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const ada = user('ada')
    a.focus.add(ROOM, ada.userId)
    a.focus.add(ROOM, ada.userId) // two tabs
    await network.settle()
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(true)
    a.focus.remove(ROOM, ada.userId)
    await network.settle()
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(true)
    a.focus.remove(ROOM, ada.userId)
    await network.settle()
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(false)
    a.focus.add(ROOM, ada.userId)
    await network.settle()
    network.dropWhen((_delivery, from) => from === a.bus.nodeId)
    clock.advance(NODE_EXPIRY_MS)
    expect(b.focus.isFocused(ROOM, ada.userId)).toBe(false)
  })

  it('a node dropped for silence that speaks again is asked for its state and is present again', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const ada = user('ada')
    a.live(ada)
    await network.settle()
    network.dropWhen((_delivery, from) => from === a.bus.nodeId)
    clock.advance(NODE_EXPIRY_MS)
    expect(b.hub.presentUsers(ROOM)).toEqual([])
    network.dropWhen(undefined)
    clock.advance(NODE_HEARTBEAT_MS) // a's next heartbeat reaches b
    await network.settle()
    expect(b.hub.presentUsers(ROOM)).toEqual([ada])
    expect(b.warnings.length).toBeGreaterThan(0)
  })

  it('bad control messages are dropped and logged, never thrown, and change nothing', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const watcher = b.watch()
    const garbage: unknown[] = [
      null,
      'text',
      42,
      {},
      { kind: 'presence' },
      { kind: 'presence', nodeId: 'x', roomId: 'not-a-uuid', user: user('ada'), present: true },
      { kind: 'presence', nodeId: 'x', roomId: ROOM, user: { userId: randomUUID(), username: 7 }, present: true },
      { kind: 'typing', nodeId: 'x', roomId: ROOM, user: user('ada'), expiresInMs: -1 },
      { kind: 'node-state', nodeId: 'x', present: [[ROOM]], focused: [] },
      { kind: 'focus', nodeId: 'x', roomId: ROOM, userId: randomUUID(), focused: 'yes' },
      { kind: 'session-ended' },
      { kind: 'no-such-kind', nodeId: 'x' },
    ]
    for (const message of garbage) network.inject(message, a.bus)
    await network.settle()
    // Every one counted; logged once per interval with how many were dropped.
    expect((await b.metrics.controlInvalid.get()).values[0]?.value).toBe(garbage.length)
    expect(b.warnings).toEqual([expect.objectContaining({ dropped: 1 })])
    clock.advance(10_000)
    network.inject(null, a.bus)
    await network.settle()
    expect(b.warnings.at(-1)).toEqual(expect.objectContaining({ dropped: garbage.length }))
    expect(b.hub.presentUsers(ROOM)).toEqual([])
    expect(watcher.frames).toEqual([])
    expect(b.access).toEqual([])
    expect(b.cluster.peers).toEqual([a.bus.nodeId])
    // A newer node's extra field does not make a message bad.
    const ada = user('ada')
    network.inject({ kind: 'presence', nodeId: 'newer', roomId: ROOM, user: ada, present: true, extra: 1 }, a.bus)
    await network.settle()
    expect(b.hub.presentUsers(ROOM)).toEqual([ada])
    expect(readControl({ kind: 'node-alive', nodeId: 'n' }).ok).toBe(true)
  })

  it('access messages reach every node, the publisher included', async () => {
    setUp()
    const [a, b] = [node(), node()]
    const roomId = randomUUID()
    const userId = randomUUID()
    a.bus.publishControl({ kind: 'session-ended', sessionId: 's1' })
    a.bus.publishControl({ kind: 'left-room', roomId, userId })
    a.bus.publishControl({ kind: 'room-deleted', roomId })
    expect(a.access).toHaveLength(3)
    await network.settle()
    expect(b.access).toEqual(['session-ended s1', `left-room ${roomId} ${userId}`, `room-deleted ${roomId}`])
  })
})

describe('cluster convergence', () => {
  type Op =
    | { kind: 'open'; node: number; person: number; room: number }
    | { kind: 'close'; pick: number }
    | { kind: 'focus'; node: number; person: number; room: number }
    | { kind: 'unfocus'; pick: number }
    | { kind: 'lose'; node: number }
    | { kind: 'settle' }

  const op = fc.oneof(
    fc.record({ kind: fc.constant('open' as const), node: fc.nat(2), person: fc.nat(3), room: fc.nat(1) }),
    fc.record({ kind: fc.constant('close' as const), pick: fc.nat(50) }),
    fc.record({ kind: fc.constant('focus' as const), node: fc.nat(2), person: fc.nat(3), room: fc.nat(1) }),
    fc.record({ kind: fc.constant('unfocus' as const), pick: fc.nat(50) }),
    fc.record({ kind: fc.constant('lose' as const), node: fc.nat(2) }),
    fc.record({ kind: fc.constant('settle' as const) }),
  )

  it('whatever a node missed, after a resync every node and every watcher agrees with the sockets that are open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops: Op[]) => {
        const network = new BusNetwork()
        const clock = new FakeClock()
        const quiet = { warn: () => {}, error: () => {}, debug: () => {} } as never
        const access = { sessionEnded() {}, leftRoom() {}, roomDeleted() {} }
        const rooms = [randomUUID(), randomUUID()]
        const people = [user('ada'), user('ben'), user('cy'), user('di')]
        const nodes = [0, 1, 2].map(() => {
          const bus = network.bus()
          const hub = new Hub(bus, 5_000, () => {}, { now: () => clock.now() })
          const focus = new FocusRegistry()
          const cluster = new ClusterNode({ bus, hub, focus, access, log: quiet, clock })
          cluster.start()
          const watchers = rooms.map((room) => {
            const watcher = new FakeSocket(user('watcher'))
            hub.attach(room, watcher)
            return watcher
          })
          return { bus, hub, focus, cluster, watchers }
        })
        await network.settle()
        const open: { node: number; person: number; room: number; socket: FakeSocket }[] = []
        const focused: { node: number; person: number; room: number }[] = []
        for (const step of ops) {
          const pick = <T>(list: T[], n: number) => (list.length ? list.splice(n % list.length, 1)[0] : undefined)
          if (step.kind === 'open') {
            const socket = new FakeSocket(people[step.person]!)
            nodes[step.node]!.hub.attach(rooms[step.room]!, socket)
            nodes[step.node]!.hub.join(rooms[step.room]!, socket)
            open.push({ ...step, socket })
          } else if (step.kind === 'close') {
            const gone = pick(open, step.pick)
            if (gone) {
              nodes[gone.node]!.hub.detach(rooms[gone.room]!, gone.socket)
              nodes[gone.node]!.hub.leave(rooms[gone.room]!, gone.socket)
            }
          } else if (step.kind === 'focus') {
            nodes[step.node]!.focus.add(rooms[step.room]!, people[step.person]!.userId)
            focused.push(step)
          } else if (step.kind === 'unfocus') {
            const gone = pick(focused, step.pick)
            if (gone) nodes[gone.node]!.focus.remove(rooms[gone.room]!, people[gone.person]!.userId)
          } else if (step.kind === 'lose') {
            // Whatever is on its way to this node now is lost.
            nodes[step.node]!.bus.hold()
            await network.settle()
            nodes[step.node]!.bus.release({ lose: true })
          } else {
            await network.settle()
          }
        }
        await network.settle()
        for (const node of nodes) node.bus.resync()
        await network.settle()

        for (const [r, room] of rooms.entries()) {
          const present = new Set(open.filter((o) => o.room === r).map((o) => people[o.person]!.userId))
          const looking = new Set(focused.filter((f) => f.room === r).map((f) => people[f.person]!.userId))
          for (const node of nodes) {
            expect(new Set(node.hub.presentUsers(room).map((u) => u.userId))).toEqual(present)
            for (const person of people)
              expect(node.focus.isFocused(room, person.userId)).toBe(looking.has(person.userId))
            // What a client watching since the start has folded from joins and leaves.
            const seen = new Set<string>()
            for (const frame of node.watchers[r]!.frames) {
              if (frame.type === 'presence_join') {
                expect(seen.has(frame.user.userId)).toBe(false)
                seen.add(frame.user.userId)
              } else if (frame.type === 'presence_leave') {
                expect(seen.delete(frame.userId)).toBe(true)
              }
            }
            expect(seen).toEqual(present)
          }
        }
        for (const node of nodes) {
          node.cluster.stop()
          node.hub.close()
        }
      }),
      { numRuns: 150 },
    )
  })
})
