import path from 'node:path'
import { LIMITS } from '../shared/limits.ts'

export interface Config {
  port: number
  host: string
  /** PostgreSQL URL; when absent Ferry runs on embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined
  dataDir: string
  /** Origins allowed to make state-changing requests and open WebSockets. */
  allowedOrigins: string[]
  cookieSecure: boolean
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Directory of the built client (vite build output). */
  clientDir: string
  /** Login/sign-up attempts per IP per window. */
  authRateLimit: { max: number; windowMs: number }
  sessionTtlMs: number
  realtime: RealtimeConfig
}

/** WebSocket tuning. Defaults come from the shared LIMITS; tests shorten the timers. */
export interface RealtimeConfig {
  /** Protocol ping interval; a socket that misses two pongs is terminated. */
  pingIntervalMs: number
  /** Unsent bytes a socket may hold before it is closed as a slow consumer (4008). */
  maxBufferedBytes: number
  /** Per-user send token bucket, across all of the user's sockets. */
  sendRatePerSecond: number
  sendBurst: number
  /** A typing signal lasts this long without renewal. */
  typingTtlMs: number
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`)
    this.name = 'ConfigError'
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new ConfigError(name, `must be true or false, got "${raw}"`)
}

function origin(name: string, raw: string): string {
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol')
    return url.origin
  } catch {
    throw new ConfigError(name, `must be a list of http(s) origins, got "${raw}"`)
  }
}

/** Reads and validates the environment; throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const host = env.HOST || '127.0.0.1'
  const databaseUrl = env.DATABASE_URL || undefined
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://')
  }
  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel']
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`)
  }
  const displayHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host
  const publicOrigin = env.PUBLIC_ORIGIN ? origin('PUBLIC_ORIGIN', env.PUBLIC_ORIGIN) : undefined
  const extra = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((o) => origin('ALLOWED_ORIGINS', o))
  const selfOrigins = [`http://${displayHost}:${port}`]
  if (displayHost === '127.0.0.1') selfOrigins.push(`http://localhost:${port}`)
  if (displayHost === 'localhost') selfOrigins.push(`http://127.0.0.1:${port}`)
  return {
    port,
    host,
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    allowedOrigins: [...new Set([...(publicOrigin ? [publicOrigin] : selfOrigins), ...extra])],
    cookieSecure: boolean(env, 'COOKIE_SECURE', publicOrigin?.startsWith('https:') ?? false),
    logLevel,
    clientDir: path.resolve(env.CLIENT_DIR || './dist'),
    authRateLimit: {
      max: integer(env, 'AUTH_RATE_LIMIT_MAX', 10, 1, 1_000_000),
      windowMs: integer(env, 'AUTH_RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    },
    sessionTtlMs: integer(env, 'SESSION_TTL_HOURS', 720, 1, 24 * 365) * 3_600_000,
    realtime: {
      pingIntervalMs: LIMITS.pingIntervalMs,
      maxBufferedBytes: LIMITS.wsMaxBufferedBytes,
      sendRatePerSecond: integer(env, 'WS_SEND_RATE_PER_SECOND', LIMITS.sendRatePerSecond, 1, 1_000_000),
      sendBurst: integer(env, 'WS_SEND_BURST', LIMITS.sendBurst, 1, 1_000_000),
      typingTtlMs: LIMITS.typingTtlMs,
    },
  }
}
