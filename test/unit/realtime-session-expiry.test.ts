import { describe, expect, it } from 'vitest'
import { Groups } from '../../server/realtime/groups.ts'
import { type ExpiryClock, SessionExpiry } from '../../server/realtime/session-expiry.ts'

/** A wall clock and a single timer slot that the test moves and fires by hand. */
function manualClock() {
  let now = 1_000_000
  let timer: { callback: () => void; at: number; id: number } | undefined
  let ids = 0
  const clock: ExpiryClock = {
    now: () => now,
    setTimer: (callback, ms) => {
      timer = { callback, at: now + ms, id: ++ids }
      return timer.id
    },
    clearTimer: (id) => {
      if (timer?.id === id) timer = undefined
    },
  }
  return {
    clock,
    /** When the armed timer fires (undefined: none armed). */
    armedAt: () => timer?.at,
    /** Moves the clock to the armed timer and fires it. */
    fire: () => {
      const due = timer!
      timer = undefined
      now = due.at
      due.callback()
    },
  }
}

interface FakeSocket {
  name: string
  sessionEndsAt: number
}

function setup() {
  const time = manualClock()
  const sockets = new Set<FakeSocket>()
  const expired: string[] = []
  const expiry = new SessionExpiry(
    () => sockets,
    (socket) => {
      expired.push(socket.name)
      sockets.delete(socket)
    },
    time.clock,
  )
  const open = (name: string, endsInMs: number) => {
    const socket = { name, sessionEndsAt: time.clock.now() + endsInMs }
    sockets.add(socket)
    expiry.watch(socket)
    return socket
  }
  return { time, sockets, expired, expiry, open }
}

describe('SessionExpiry', () => {
  it('ends each socket when its session ends, in order, with one timer armed for the earliest end', () => {
    const { time, expired, open } = setup()
    open('late', 5_000)
    expect(time.armedAt()).toBe(1_005_000)
    open('early', 2_000)
    expect(time.armedAt()).toBe(1_002_000)
    open('later still', 9_000)
    expect(time.armedAt()).toBe(1_002_000)

    time.fire()
    expect(expired).toEqual(['early'])
    expect(time.armedAt()).toBe(1_005_000)
    time.fire()
    expect(expired).toEqual(['early', 'late'])
    time.fire()
    expect(expired).toEqual(['early', 'late', 'later still'])
    expect(time.armedAt()).toBeUndefined()
  })

  it('ends a socket whose session has already ended at once', () => {
    const { time, expired, open } = setup()
    open('stale', 0)
    expect(expired).toEqual(['stale'])
    expect(time.armedAt()).toBeUndefined()
  })

  it('a socket gone before its end is skipped; one whose end is beyond a timer’s reach waits for it', () => {
    const { time, sockets, expired, open } = setup()
    const gone = open('gone', 1_000)
    const farEnd = 40 * 24 * 3_600_000 // 40 days: past setTimeout's ~24.8 days
    open('far', farEnd)
    sockets.delete(gone)
    time.fire()
    expect(expired).toEqual([])
    // The far end is reached in two steps: the longest timer, then the rest.
    expect(time.armedAt()).toBe(1_001_000 + 2 ** 31 - 1)
    time.fire()
    expect(expired).toEqual([])
    time.fire()
    expect(expired).toEqual(['far'])
  })

  it('stop disarms the timer', () => {
    const { time, expiry, open } = setup()
    open('a', 1_000)
    expiry.stop()
    expect(time.armedAt()).toBeUndefined()
  })
})

describe('Groups', () => {
  it('keeps items by key, one or many, and forgets a key with none left', () => {
    const groups = new Groups<{ id: number }>()
    const [a, b, c] = [{ id: 1 }, { id: 2 }, { id: 3 }]
    groups.add('k', a)
    groups.add('k', a)
    expect(groups.get('k')).toEqual([a])
    groups.add('k', b)
    groups.add('k', c)
    expect(groups.get('k')).toEqual([a, b, c])
    groups.delete('k', b)
    groups.delete('k', a)
    expect(groups.get('k')).toEqual([c])
    groups.delete('k', a)
    expect(groups.get('k')).toEqual([c])
    groups.delete('k', c)
    expect(groups.has('k')).toBe(false)
    expect(groups.get('k')).toEqual([])
    groups.delete('absent', a)
    expect(groups.get('absent')).toEqual([])
  })
})
