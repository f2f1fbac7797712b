import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { applyInOrder, type MessageState, messageFromCreated } from '../../shared/conversation/fold.ts'
import type { Message, RoomEvent } from '../../shared/schemas.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { createRoom, joinRoom, realtimeConfig, storedEvents } from '../support/ws.ts'

/** A fixed-seed generator (mulberry32): the same mix on every run and engine. */
function random(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Each message's state folded from the raw log by the shared rules (shared/conversation/fold.ts). */
function foldLog(events: readonly RoomEvent[]): Map<number, MessageState> {
  const states = new Map<number, MessageState>()
  for (const e of events) {
    if (e.kind === 'message.created') states.set(e.seq, messageFromCreated(e)!)
    else if (e.targetSeq !== null && states.has(e.targetSeq)) {
      states.set(e.targetSeq, applyInOrder(states.get(e.targetSeq)!, e))
    }
  }
  return states
}

/**
 * History pages carry each message's state as the server keeps it
 * (denormalised, updated with each entry); it must equal the shared fold of
 * the raw log, whatever mix of edits, deletions and reactions made it.
 */
describeEachEngine('conversation history: folded states', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1000, sendBurst: 1000 }) })
  let people: Agent[]
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    people = [await signUp(ctx.app), await signUp(ctx.app), await signUp(ctx.app)]
  })

  async function historyOf(agent: Agent, roomId: string, pageSize: number): Promise<Message[]> {
    const all: Message[] = []
    for (let before: number | undefined; ; ) {
      const query = `limit=${pageSize}${before === undefined ? '' : `&before=${before}`}`
      const response = await agent.request('GET', `/api/rooms/${roomId}/messages?${query}`)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json() as { messages: Message[]; hasMore: boolean }
      all.push(...page.messages)
      if (!page.hasMore) return all
      before = page.messages.at(-1)!.seq
    }
  }

  it('a page equals the shared fold of the raw log, for a random mix of sends, replies, edits, deletes and reactions', async () => {
    const [owner, ...others] = people as [Agent, Agent, Agent]
    const roomId = await createRoom(owner)
    for (const agent of others) await joinRoom(agent, roomId)
    const next = random(9)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!
    const emoji = ['👍', '❤️', '🎉', '😂']
    /** Messages written so far: seq and author index. */
    const written: Array<{ seq: number; author: number }> = []
    const outcomes = new Map<string, number>()
    for (let step = 0; step < 90; step++) {
      const who = Math.floor(next() * people.length)
      const agent = people[who]!
      const roll = next()
      const target = written.length > 0 ? pick(written) : undefined
      let response: Awaited<ReturnType<Agent['request']>>
      if (!target || roll < 0.3) {
        const body = `message ${step} @${pick(people).user.username}`
        const reply = target && roll < 0.12 ? { replyTo: target.seq } : {}
        response = await agent.request('POST', `/api/rooms/${roomId}/messages`, {
          clientId: randomUUID(),
          body,
          ...reply,
        })
        if (response.statusCode === 201) written.push({ seq: response.json().message.seq, author: who })
      } else {
        const operation =
          roll < 0.5
            ? // Edits by the author mostly, so most land.
              { type: 'edit', targetSeq: target.seq, body: `edit ${step} @${pick(people).user.username}` }
            : roll < 0.6
              ? { type: 'delete', targetSeq: target.seq }
              : { type: 'react', targetSeq: target.seq, emoji: pick(emoji), action: next() < 0.7 ? 'add' : 'remove' }
        const actor = operation.type === 'edit' ? people[target.author]! : agent
        response = await actor.request('POST', `/api/rooms/${roomId}/operations`, {
          clientId: randomUUID(),
          ...operation,
        })
      }
      const code = response.statusCode === 201 ? 'stored' : response.json().error.code
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1)
    }
    // The mix exercised refusals as well as every kind.
    expect(outcomes.get('stored')).toBeGreaterThan(50)
    expect([...outcomes.keys()].sort()).toEqual(expect.arrayContaining(['forbidden', 'stored', 'target_deleted']))

    const log = await storedEvents(owner, roomId)
    const kinds = new Set(log.map((e) => e.kind))
    expect([...kinds].sort()).toEqual([
      // The others joined the room: one notice each (they fold into no message).
      'member.joined',
      'message.created',
      'message.deleted',
      'message.edited',
      'reaction.added',
      'reaction.removed',
    ])
    const folded = foldLog(log)
    const lastSeq = log.at(-1)!.seq
    for (const pageSize of [7, 100]) {
      const history = await historyOf(people[1]!, roomId, pageSize)
      expect(history.map((m) => m.seq)).toEqual([...folded.keys()].reverse())
      for (const message of history) {
        const state = message.state!
        expect(state.through).toBe(lastSeq)
        expect({ ...state, through: 0 }, `message ${message.seq}`).toEqual({ ...folded.get(message.seq)!, through: 0 })
        expect(message.body).toBe(state.body ?? '')
      }
    }
    expect([...folded.values()].some((s) => s.deleted)).toBe(true)
    expect([...folded.values()].some((s) => s.edited)).toBe(true)
    expect([...folded.values()].some((s) => s.reactions.length > 0)).toBe(true)
    expect([...folded.values()].some((s) => s.replyTo !== null)).toBe(true)
    expect([...folded.values()].some((s) => s.mentions.length > 0)).toBe(true)
  })
})
