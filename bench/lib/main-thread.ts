/**
 * Main-thread time from a Chromium trace: what the page's renderer main thread did between two
 * marks, by kind (script, style, layout, paint), and its longest task. Wall time on a shared
 * machine waits for other processes; the thread time of these stages does not.
 *
 * Recorded over CDP (`Tracing.start` on the page's session, the timeline categories DevTools uses);
 * summarised by self time: each trace event's own thread time minus its children's, counted for the
 * nearest enclosing event whose kind is known (a forced layout inside a script call is layout, not
 * script). Only complete events ('X') nest that way; that is how Chromium writes these.
 */
import type { CDPSession } from 'playwright-core'

export interface TraceEvent {
  name: string
  cat: string
  ph: string
  ts: number
  dur?: number
  /** Thread (CPU) time of the event: what the thread itself ran, without waiting for a core or the CPU throttle's pauses. */
  tdur?: number
  pid: number
  tid: number
  args?: Record<string, unknown>
}

/**
 * `busyMs` and `longestTaskMs` are wall time (stretched by whatever else the machine runs); the
 * rest is the thread's CPU time, which other processes do not inflate. Chromium's CPU throttle
 * counts as thread time (it keeps the thread busy), so traces are recorded unthrottled: at 4× the
 * same work takes about 4× as long.
 */
export interface MainThreadStages {
  /** Sum of the tasks' durations: everything the thread ran in the window, wall time. */
  busyMs: number
  /** The same tasks' thread time. */
  cpuMs: number
  scriptMs: number
  styleMs: number
  layoutMs: number
  /** Pre-paint, paint and layerization (the main thread's part; rasterizing is elsewhere). */
  paintMs: number
  /** The rest: parsing, IndexedDB callbacks' glue, garbage collection, … */
  otherMs: number
  /** The longest single task in the window (wall time), and how many tasks there were. */
  longestTaskMs: number
  tasks: number
}

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'blink.user_timing',
  'toplevel',
  'v8.execute',
  ...(process.env.BENCH_CLIENT_TRACE_PROFILE ? ['disabled-by-default-v8.cpu_profiler'] : []),
].join(',')

const KIND: Record<string, keyof Omit<MainThreadStages, 'busyMs' | 'cpuMs' | 'otherMs' | 'longestTaskMs' | 'tasks'>> = {
  FunctionCall: 'scriptMs',
  EvaluateScript: 'scriptMs',
  'v8.evaluateModule': 'scriptMs',
  'v8.compile': 'scriptMs',
  'v8.compileModule': 'scriptMs',
  RunMicrotasks: 'scriptMs',
  FireAnimationFrame: 'scriptMs',
  TimerFire: 'scriptMs',
  EventDispatch: 'scriptMs',
  UpdateLayoutTree: 'styleMs',
  RecalculateStyles: 'styleMs',
  Layout: 'layoutMs',
  PrePaint: 'paintMs',
  Paint: 'paintMs',
  Layerize: 'paintMs',
  UpdateLayer: 'paintMs',
  PaintImage: 'paintMs',
}
const TASK = new Set(['RunTask', 'ThreadControllerImpl::RunTask'])

export async function startTrace(cdp: CDPSession): Promise<void> {
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReturnAsStream' })
}

export async function stopTrace(cdp: CDPSession): Promise<TraceEvent[]> {
  const complete = new Promise<string>((resolve) =>
    cdp.once('Tracing.tracingComplete', (event: { stream?: string }) => resolve(event.stream ?? '')),
  )
  await cdp.send('Tracing.end')
  const stream = await complete
  let text = ''
  for (;;) {
    const chunk = await cdp.send('IO.read', { handle: stream })
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString('utf8') : chunk.data
    if (chunk.eof) break
  }
  await cdp.send('IO.close', { handle: stream })
  const parsed = JSON.parse(text) as { traceEvents?: TraceEvent[] } | TraceEvent[]
  return Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? [])
}

/** The first user-timing mark of that name (performance.mark), or undefined. */
export function findMark(events: TraceEvent[], name: string): TraceEvent | undefined {
  return events.find((e) => e.name === name && e.cat.includes('blink.user_timing'))
}

const round = (us: number) => Math.round(us / 100) / 10

/**
 * The main thread's stages in the tasks that start at or after the mark `from` and at or before
 * the mark `to` (the task holding `to` counted whole). Both marks must be on one thread: the
 * page's main thread.
 */
export function mainThreadStages(events: TraceEvent[], from: string, to: string): MainThreadStages | null {
  const start = findMark(events, from)
  const end = findMark(events, to)
  if (!start || !end || start.pid !== end.pid || start.tid !== end.tid) return null
  const thread = events
    .filter((e) => e.pid === start.pid && e.tid === start.tid && e.ph === 'X' && typeof e.dur === 'number')
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)
  const tasks = thread.filter((e) => TASK.has(e.name))
  // The task holding `from` counts whole too: the mark may sit inside the task it starts (a render in a microtask after it).
  const inWindow = tasks.filter((t) => t.ts + t.dur! >= start.ts && t.ts <= end.ts)
  // Outermost tasks only (a RunTask may sit in a ThreadControllerImpl::RunTask).
  const outer: TraceEvent[] = []
  for (const t of inWindow) {
    const last = outer.at(-1)
    if (!last || t.ts >= last.ts + last.dur!) outer.push(t)
  }
  const out: MainThreadStages = {
    busyMs: 0,
    cpuMs: 0,
    scriptMs: 0,
    styleMs: 0,
    layoutMs: 0,
    paintMs: 0,
    otherMs: 0,
    longestTaskMs: 0,
    tasks: outer.length,
  }
  const self: Record<string, number> = { scriptMs: 0, styleMs: 0, layoutMs: 0, paintMs: 0, otherMs: 0 }
  let longest = 0
  let busy = 0
  let cpu = 0
  const threadTime = (e: TraceEvent) => e.tdur ?? e.dur!
  for (const task of outer) {
    busy += task.dur!
    cpu += threadTime(task)
    longest = Math.max(longest, task.dur!)
    const inside = thread.filter((e) => e.ts >= task.ts && e.ts + e.dur! <= task.ts + task.dur!)
    // A stack walk: each event's self time goes to its own kind, else its nearest known ancestor's.
    const stack: Array<{ end: number; kind: string; childTime: number; dur: number }> = []
    // Nesting by wall time; what is counted is thread time.
    const pop = () => {
      const done = stack.pop()!
      self[done.kind] = (self[done.kind] ?? 0) + Math.max(0, done.dur - done.childTime)
    }
    for (const e of inside) {
      while (stack.length && e.ts >= stack.at(-1)!.end) pop()
      const parent = stack.at(-1)
      if (parent) parent.childTime += threadTime(e)
      stack.push({
        end: e.ts + e.dur!,
        kind: KIND[e.name] ?? parent?.kind ?? 'otherMs',
        childTime: 0,
        dur: threadTime(e),
      })
    }
    while (stack.length) pop()
  }
  out.busyMs = round(busy)
  out.cpuMs = round(cpu)
  out.longestTaskMs = round(longest)
  out.scriptMs = round(self.scriptMs!)
  out.styleMs = round(self.styleMs!)
  out.layoutMs = round(self.layoutMs!)
  out.paintMs = round(self.paintMs!)
  out.otherMs = round(self.otherMs!)
  return out
}
