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
  push: PushConfig
  /** Diagnostics: time every append stage and write the summary here at shutdown (FERRY_PROFILE_FILE). */
  profileFile: string | undefined
  /** REDIS_URL: Redis for the cross-process bus (and shared login limits) when set. */
  redisUrl: string | undefined
  /**
   * FERRY_BUS: how nodes tell each other about commits (docs/SCALING.md).
   * 'local' (the only choice on embedded PGlite: one process per data dir),
   * 'postgres' (LISTEN/NOTIFY, the default with DATABASE_URL), 'redis'
   * (pub/sub, the default when REDIS_URL is set too).
   */
  bus: 'local' | 'postgres' | 'redis'
  /**
   * FERRY_BUS_CHANNEL: the bus's name (default `ferry`): the LISTEN channel is
   * `<name>_bus`, the Redis channel `<name>:bus`. Clusters sharing one database
   * or Redis server (tests, staging beside production) each take their own.
   */
  busChannel: string
  /** FERRY_WORKERS: node:cluster workers sharing the port (PostgreSQL only; 1 = no cluster). */
  workers: number
  /**
   * Prometheus metrics (docs/SCALING.md, "Metrics"). METRICS_PORT serves
   * /metrics on its own port bound to METRICS_HOST (default 127.0.0.1);
   * METRICS_TOKEN serves it on the main port to `Authorization: Bearer <token>`
   * only. Neither set: no /metrics.
   */
  metrics: { port: number | undefined; host: string; token: string | undefined }
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

/** Web Push (server/push/, docs/PUSH.md). Tuning defaults live here; tests shorten the timers. */
export interface PushConfig {
  /** VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY; absent: a pair generated at first start and kept in the database. */
  vapidKeys: { publicKey: string; privateKey: string } | undefined
  /** VAPID_SUBJECT: how a push service reaches the operator (`mailto:` or `https:`). */
  vapidSubject: string
  /**
   * PUSH_ALLOW_PRIVATE_ENDPOINTS, for tests only: accept `http:` endpoints
   * and endpoints on loopback or private addresses (a local push receiver).
   * Off, such endpoints are refused at registration and again at send time (SSRF).
   */
  allowPrivateEndpoints: boolean
  /** PUSH_CONCURRENCY: push requests in flight at once. */
  concurrency: number
  /**
   * PUSH_MAX_PER_SECOND: pushes started per second at most (0: no limit).
   * Encrypting one costs ~0.6 ms of the main thread (docs/BENCHMARKS.md), so
   * this bounds what pushing can take from acks and fan-out.
   */
  ratePerSecond: number
  /** Deliveries waiting (queued or between retries); past it the oldest non-mention is dropped. */
  queueMax: number
  /** Every push request (connect, send, answer) is abandoned after this long. */
  requestTimeoutMs: number
  /** Tries per delivery (the first and its retries) on 429, 5xx, timeouts and network errors. */
  maxAttempts: number
  /** Backoff before retry n: retryBaseMs · 2^(n-1), at most retryMaxMs (Retry-After wins when given, capped too). */
  retryBaseMs: number
  retryMaxMs: number
  /** How long the push service keeps a message for an offline device. */
  ttlSeconds: number
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

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** A base64url (no padding) value of exactly `bytes` bytes, as web-push wants VAPID keys. */
function base64UrlKey(env: NodeJS.ProcessEnv, name: string, bytes: number): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  if (!BASE64URL.test(raw) || Buffer.from(raw, 'base64url').length !== bytes) {
    throw new ConfigError(name, `must be a base64url key of ${bytes} bytes without padding`)
  }
  return raw
}

function pushConfig(env: NodeJS.ProcessEnv, publicOrigin: string | undefined): PushConfig {
  const publicKey = base64UrlKey(env, 'VAPID_PUBLIC_KEY', 65)
  const privateKey = base64UrlKey(env, 'VAPID_PRIVATE_KEY', 32)
  if ((publicKey === undefined) !== (privateKey === undefined)) {
    throw new ConfigError(
      publicKey ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY',
      'must be set with its pair, or both unset',
    )
  }
  const subject = env.VAPID_SUBJECT || (publicOrigin?.startsWith('https:') ? publicOrigin : 'mailto:push@ferry.invalid')
  if (!/^(mailto:[^\s@]+@[^\s@]+|https:\/\/[^\s]+)$/.test(subject)) {
    throw new ConfigError('VAPID_SUBJECT', `must be a mailto: address or an https: URL, got "${subject}"`)
  }
  return {
    vapidKeys: publicKey && privateKey ? { publicKey, privateKey } : undefined,
    vapidSubject: subject,
    allowPrivateEndpoints: boolean(env, 'PUSH_ALLOW_PRIVATE_ENDPOINTS', false),
    concurrency: integer(env, 'PUSH_CONCURRENCY', 16, 1, 1000),
    ratePerSecond: integer(env, 'PUSH_MAX_PER_SECOND', 200, 0, 1_000_000),
    queueMax: 10_000,
    requestTimeoutMs: 10_000,
    maxAttempts: 4,
    retryBaseMs: 1_000,
    retryMaxMs: 60_000,
    ttlSeconds: 24 * 3600,
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
    push: pushConfig(env, publicOrigin),
    profileFile: env.FERRY_PROFILE_FILE ? path.resolve(env.FERRY_PROFILE_FILE) : undefined,
    ...scaleOut(env, databaseUrl),
  }
}

const BUS_KINDS = ['local', 'postgres', 'redis'] as const

/** Bus, workers and metrics (issue 11): each combination embedded mode cannot serve is refused by name. */
function scaleOut(
  env: NodeJS.ProcessEnv,
  databaseUrl: string | undefined,
): Pick<Config, 'redisUrl' | 'bus' | 'busChannel' | 'workers' | 'metrics'> {
  const redisUrl = env.REDIS_URL || undefined
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://')
  const fallback = !databaseUrl ? 'local' : redisUrl ? 'redis' : 'postgres'
  const bus = (env.FERRY_BUS || fallback) as Config['bus']
  if (!BUS_KINDS.includes(bus)) {
    throw new ConfigError('FERRY_BUS', `must be one of ${BUS_KINDS.join(', ')}, got "${env.FERRY_BUS}"`)
  }
  if (bus !== 'local' && !databaseUrl) {
    throw new ConfigError('FERRY_BUS', `"${bus}" needs DATABASE_URL: the embedded database serves one process only`)
  }
  if (bus === 'redis' && !redisUrl) throw new ConfigError('FERRY_BUS', '"redis" needs REDIS_URL')
  const busChannel = env.FERRY_BUS_CHANNEL || 'ferry'
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(busChannel)) {
    throw new ConfigError('FERRY_BUS_CHANNEL', 'must be 1-40 lower-case letters, digits or _, starting with a letter')
  }
  const workers = integer(env, 'FERRY_WORKERS', 1, 1, 256)
  if (workers > 1 && !databaseUrl) {
    throw new ConfigError(
      'FERRY_WORKERS',
      'needs DATABASE_URL: the embedded database (PGlite) belongs to one process; set DATABASE_URL to a PostgreSQL server to run several workers',
    )
  }
  if (workers > 1 && bus === 'local') {
    throw new ConfigError('FERRY_WORKERS', 'needs a cross-process bus: FERRY_BUS=postgres or redis, not local')
  }
  const metricsPort = env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 1, 65535) : undefined
  const token = env.METRICS_TOKEN || undefined
  if (token !== undefined && token.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters')
  return {
    redisUrl,
    bus,
    busChannel,
    workers,
    metrics: { port: metricsPort, host: env.METRICS_HOST || '127.0.0.1', token },
  }
}
