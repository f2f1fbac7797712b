import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config.ts'
import { LIMITS } from '../../shared/limits.ts'

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

describe('loadConfig', () => {
  it('has safe defaults with an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.resolve('./data'),
      cookieSecure: false,
      logLevel: 'info',
      authRateLimit: { max: 10, windowMs: 60_000 },
      sessionTtlMs: 720 * 3_600_000,
    })
    expect(config.allowedOrigins).toEqual(['http://127.0.0.1:3000', 'http://localhost:3000'])
  })

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://ferry@db:5432/ferry',
      DATA_DIR: '/tmp/ferry-data',
      PUBLIC_ORIGIN: 'https://chat.example.com/',
      ALLOWED_ORIGINS: 'http://localhost:5173, https://other.example',
      LOG_LEVEL: 'warn',
      AUTH_RATE_LIMIT_MAX: '5',
      AUTH_RATE_LIMIT_WINDOW_MS: '30000',
      SESSION_TTL_HOURS: '2',
    })
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://ferry@db:5432/ferry',
      dataDir: '/tmp/ferry-data',
      // An https public origin turns Secure cookies on by default.
      cookieSecure: true,
      logLevel: 'warn',
      authRateLimit: { max: 5, windowMs: 30_000 },
      sessionTtlMs: 2 * 3_600_000,
    })
    // The public origin replaces the self origins; extras are added.
    expect(config.allowedOrigins).toEqual([
      'https://chat.example.com',
      'http://localhost:5173',
      'https://other.example',
    ])
    expect(loadConfig({ PUBLIC_ORIGIN: 'https://chat.example.com', COOKIE_SECURE: 'false' }).cookieSecure).toBe(false)
    expect(loadConfig({ COOKIE_SECURE: 'yes' }).cookieSecure).toBe(true)
    expect(loadConfig({ HOST: 'localhost', PORT: '4000' }).allowedOrigins).toEqual([
      'http://localhost:4000',
      'http://127.0.0.1:4000',
    ])
  })

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://root@localhost/ferry'],
    ['DATABASE_URL', 'localhost:5432'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO'],
    ['PUBLIC_ORIGIN', 'chat.example.com'],
    ['PUBLIC_ORIGIN', 'ftp://chat.example.com'],
    ['ALLOWED_ORIGINS', 'http://ok.example,not an origin'],
    ['COOKIE_SECURE', 'maybe'],
    ['AUTH_RATE_LIMIT_MAX', '0'],
    ['AUTH_RATE_LIMIT_WINDOW_MS', 'soon'],
    ['SESSION_TTL_HOURS', '0'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', '1'],
    ['TRUST_PROXY', '-1'],
    ['TRUST_PROXY', '10.0.0.1,proxy.example'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1,'],
  ])('refuses %s=%s with a ConfigError naming the variable', (variable, value) => {
    const error = configError({ [variable]: value })
    expect(error.variable).toBe(variable)
    expect(error.message).toContain(variable)
    expect(error.message).toMatch(/^Invalid configuration: /)
  })

  it('RESUME_MAX_EVENTS: the reset bound, LIMITS.resumeMaxEvents by default, only ever lowered', () => {
    expect(loadConfig({}).realtime.resumeMaxEvents).toBe(LIMITS.resumeMaxEvents)
    expect(loadConfig({ RESUME_MAX_EVENTS: '8' }).realtime.resumeMaxEvents).toBe(8)
    expect(configError({ RESUME_MAX_EVENTS: String(LIMITS.resumeMaxEvents + 1) }).variable).toBe('RESUME_MAX_EVENTS')
    expect(configError({ RESUME_MAX_EVENTS: '0' }).variable).toBe('RESUME_MAX_EVENTS')
  })

  it('TRUST_PROXY: off by default; true, or a list of proxy addresses, CIDR ranges and named ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 192.168.0.0/16, ::1, fd00::/8, loopback' }).trustProxy).toEqual([
      '10.0.0.5',
      '192.168.0.0/16',
      '::1',
      'fd00::/8',
      'loopback',
    ])
  })

  it('does not echo a database password back in its error', () => {
    const error = configError({ DATABASE_URL: 'mysql://root:hunter2@localhost/ferry' })
    expect(error.variable).toBe('DATABASE_URL')
    expect(error.message).not.toContain('hunter2')
  })

  it('push: VAPID keys from the environment as a pair, or none (generated and stored); private endpoints off', () => {
    const publicKey = Buffer.alloc(65, 4).toString('base64url')
    const privateKey = Buffer.alloc(32, 9).toString('base64url')
    expect(loadConfig({}).push).toMatchObject({ vapidKeys: undefined, allowPrivateEndpoints: false })
    expect(loadConfig({}).push.vapidSubject).toMatch(/^mailto:/)
    expect(loadConfig({ PUBLIC_ORIGIN: 'https://chat.example.com' }).push.vapidSubject).toBe('https://chat.example.com')
    const both = loadConfig({
      VAPID_PUBLIC_KEY: publicKey,
      VAPID_PRIVATE_KEY: privateKey,
      VAPID_SUBJECT: 'mailto:ops@example.com',
    })
    expect(both.push).toMatchObject({ vapidKeys: { publicKey, privateKey }, vapidSubject: 'mailto:ops@example.com' })
    expect(loadConfig({ PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' }).push.allowPrivateEndpoints).toBe(true)
    expect(configError({ VAPID_PUBLIC_KEY: publicKey }).variable).toBe('VAPID_PRIVATE_KEY')
    expect(configError({ VAPID_PRIVATE_KEY: privateKey }).variable).toBe('VAPID_PUBLIC_KEY')
    expect(configError({ VAPID_PUBLIC_KEY: privateKey, VAPID_PRIVATE_KEY: privateKey }).variable).toBe(
      'VAPID_PUBLIC_KEY',
    )
    expect(configError({ VAPID_PUBLIC_KEY: `${publicKey}=`, VAPID_PRIVATE_KEY: privateKey }).variable).toBe(
      'VAPID_PUBLIC_KEY',
    )
    expect(configError({ VAPID_SUBJECT: 'ops@example.com' }).variable).toBe('VAPID_SUBJECT')
    expect(configError({ VAPID_SUBJECT: 'http://example.com' }).variable).toBe('VAPID_SUBJECT')
    expect(configError({ PUSH_ALLOW_PRIVATE_ENDPOINTS: 'sometimes' }).variable).toBe('PUSH_ALLOW_PRIVATE_ENDPOINTS')
    expect(configError({ PUSH_CONCURRENCY: '0' }).variable).toBe('PUSH_CONCURRENCY')
  })

  it('picks the bus from the database and Redis settings, and refuses what embedded mode cannot serve', () => {
    const pg = 'postgres://postgres@127.0.0.1:5432/ferry'
    expect(loadConfig({})).toMatchObject({ bus: 'local', workers: 1, redisUrl: undefined })
    expect(loadConfig({ DATABASE_URL: pg }).bus).toBe('postgres')
    expect(loadConfig({ DATABASE_URL: pg, REDIS_URL: 'redis://127.0.0.1:6379' }).bus).toBe('redis')
    expect(loadConfig({ DATABASE_URL: pg, REDIS_URL: 'redis://127.0.0.1:6379', FERRY_BUS: 'postgres' }).bus).toBe(
      'postgres',
    )
    expect(loadConfig({ DATABASE_URL: pg, FERRY_WORKERS: '4' }).workers).toBe(4)
    expect(configError({ FERRY_BUS: 'postgres' }).message).toMatch(/needs DATABASE_URL/)
    expect(configError({ FERRY_BUS: 'nats', DATABASE_URL: pg }).variable).toBe('FERRY_BUS')
    expect(configError({ FERRY_BUS: 'redis', DATABASE_URL: pg }).message).toMatch(/needs REDIS_URL/)
    expect(configError({ REDIS_URL: 'http://cache:6379' }).variable).toBe('REDIS_URL')
    expect(loadConfig({}).busChannel).toBe('ferry')
    expect(loadConfig({ FERRY_BUS_CHANNEL: 'staging_2' }).busChannel).toBe('staging_2')
    expect(configError({ FERRY_BUS_CHANNEL: 'Bad-Name' }).variable).toBe('FERRY_BUS_CHANNEL')
    const embedded = configError({ FERRY_WORKERS: '2' })
    expect(embedded.variable).toBe('FERRY_WORKERS')
    expect(embedded.message).toMatch(/embedded database/)
    expect(configError({ FERRY_WORKERS: '2', DATABASE_URL: pg, FERRY_BUS: 'local' }).message).toMatch(
      /cross-process bus/,
    )
    expect(configError({ FERRY_WORKERS: '0', DATABASE_URL: pg }).variable).toBe('FERRY_WORKERS')
  })

  it('serves metrics only on their own port or behind a token', () => {
    expect(loadConfig({}).metrics).toEqual({ port: undefined, host: '127.0.0.1', token: undefined })
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toMatchObject({
      port: 9464,
      host: '0.0.0.0',
    })
    expect(loadConfig({ METRICS_TOKEN: 'a-long-enough-token' }).metrics.token).toBe('a-long-enough-token')
    expect(configError({ METRICS_TOKEN: 'short' }).variable).toBe('METRICS_TOKEN')
    expect(configError({ METRICS_PORT: '70000' }).variable).toBe('METRICS_PORT')
  })
})
