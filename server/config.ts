import net from 'node:net'
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
  /**
   * Which peers may tell the client's address in X-Forwarded-For (Fastify's
   * `trustProxy`): false = nobody (the address is the TCP peer), true = any
   * peer (only when nothing can reach the server but the proxy), a list =
   * those proxy addresses/CIDRs.
   */
  trustProxy: boolean | string[]
  /** Login/sign-up attempts per client address per window. */
  authRateLimit: { max: number; windowMs: number }
  sessionTtlMs: number
  realtime: RealtimeConfig
  /** Diagnostics: time every append stage and write the summary here at shutdown (FERRY_PROFILE_FILE). */
  profileFile: string | undefined
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
  /** Raised read markers are written and broadcast this often (LIMITS.readMarkerFlushMs). */
  readMarkerFlushMs: number
  /**
   * More missed events than this on subscribe → `reset` instead of a replay
   * (LIMITS.resumeMaxEvents when absent). RESUME_MAX_EVENTS lowers it so a
   * browser test can be away past the bound without writing 500 entries.
   */
  resumeMaxEvents?: number
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

/** proxy-addr's names for the usual private ranges (what Fastify's trustProxy accepts besides addresses). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal']

function isAddressOrRange(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true
  const [address, bits, ...rest] = entry.split('/')
  const family = net.isIP(address ?? '')
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/**
 * No hop counts: Fastify 5.12 trusts nobody for a numeric trustProxy (a hop
 * count cannot tell a proxy from a client sending enough hops), so a number
 * here would silently do nothing.
 */
function trustProxy(env: NodeJS.ProcessEnv): Config['trustProxy'] {
  const raw = (env.TRUST_PROXY ?? '').trim()
  if (raw === '' || raw.toLowerCase() === 'false') return false
  if (raw.toLowerCase() === 'true') return true
  const entries = raw.split(',').map((s) => s.trim())
  const bad = entries.find((entry) => !isAddressOrRange(entry))
  if (bad !== undefined) {
    throw new ConfigError(
      'TRUST_PROXY',
      `must be true, false or a list of proxy IP addresses/CIDRs (or loopback, linklocal, uniquelocal), got "${bad}"`,
    )
  }
  return entries
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
    trustProxy: trustProxy(env),
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
      readMarkerFlushMs: LIMITS.readMarkerFlushMs,
      resumeMaxEvents: integer(env, 'RESUME_MAX_EVENTS', LIMITS.resumeMaxEvents, 1, LIMITS.resumeMaxEvents),
    },
    profileFile: env.FERRY_PROFILE_FILE ? path.resolve(env.FERRY_PROFILE_FILE) : undefined,
  }
}
