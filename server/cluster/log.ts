import type { Config } from '../config.ts'

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY }

export interface PrimaryLog {
  info(fields: Record<string, unknown>, msg: string): void
  warn(fields: Record<string, unknown>, msg: string): void
  error(fields: Record<string, unknown>, msg: string): void
}

/**
 * The cluster primary builds no Fastify app, so it has no pino logger; it
 * writes the same one-JSON-object-a-line shape (level, time, pid, msg) so the
 * workers' and the primary's lines read alike in one stream.
 */
export function primaryLog(level: Config['logLevel']): PrimaryLog {
  const min = LEVELS[level]
  const at =
    (value: number) =>
    (fields: Record<string, unknown>, msg: string): void => {
      if (value < min) return
      process.stdout.write(
        `${JSON.stringify({ level: value, time: Date.now(), pid: process.pid, role: 'primary', ...fields, msg })}\n`,
      )
    }
  return { info: at(LEVELS.info), warn: at(LEVELS.warn), error: at(LEVELS.error) }
}
