import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './server-process.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
/** The shipped balancer configuration (an http{}-level file for /etc/nginx/conf.d/). */
export const NGINX_CONF = path.join(ROOT, 'deploy/nginx.conf')

/** Debian's nginx binary, when installed (.ci/run installs it); undefined otherwise. */
export const NGINX: string | undefined = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((file) =>
  fs.existsSync(file),
)
export const OPENSSL: string | undefined = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((file) =>
  fs.existsSync(file),
)

export interface RenderOptions {
  /** host:port of each Ferry process. */
  upstreams: string[]
  /** The redirecting plain-HTTP server's port. */
  httpPort: number
  /** The main server's port; TLS with these files, or plain HTTP when absent (for tests that speak ws://). */
  mainPort: number
  tls?: { cert: string; key: string }
}

/** Replaces `pattern` in `text`, which must match exactly `times` times (the shipped file changed otherwise). */
function replace(
  text: string,
  pattern: RegExp,
  by: string | ((match: string, index: number) => string),
  times: number,
) {
  let count = 0
  const result = text.replace(pattern, (match) => (typeof by === 'string' ? by : by(match, count++)))
  const found = text.match(pattern)?.length ?? 0
  if (found !== times) throw new Error(`deploy/nginx.conf: expected ${times} match(es) of ${pattern}, found ${found}`)
  return result
}

/**
 * deploy/nginx.conf as shipped, with only what a test must change: the
 * upstream addresses, the listen ports (IPv4 loopback only) and the
 * certificate (or no TLS at all). Every proxy setting is the shipped one.
 */
export function renderNginxConfig(source: string, options: RenderOptions): string {
  let text = replace(
    source,
    /^[ \t]*server \d+\.\d+\.\d+\.\d+:\d+[^;\n]*;\n/gm,
    (_match, index) =>
      index === 0 ? options.upstreams.map((u) => `    server ${u} max_fails=3 fail_timeout=10s;\n`).join('') : '',
    3,
  )
  text = replace(text, /^[ \t]*listen \[::\]:\d+[^;\n]*;\n/gm, '', 2)
  text = replace(text, /listen 80;/g, `listen 127.0.0.1:${options.httpPort};`, 1)
  if (options.tls) {
    text = replace(text, /listen 443 ssl;/g, `listen 127.0.0.1:${options.mainPort} ssl;`, 1)
    text = replace(text, /ssl_certificate [^;\n]+;/g, `ssl_certificate ${options.tls.cert};`, 1)
    text = replace(text, /ssl_certificate_key [^;\n]+;/g, `ssl_certificate_key ${options.tls.key};`, 1)
  } else {
    text = replace(text, /listen 443 ssl;/g, `listen 127.0.0.1:${options.mainPort};`, 1)
    text = replace(text, /^[ \t]*ssl_[a-z_]+ [^;\n]+;\n/gm, '', 4)
  }
  return text
}

/** A main configuration of the test's own: pid, logs and temporary files in `dir`, the rendered file included. */
function mainConfig(dir: string): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/ferry.conf;
}
`
}

/** A self-signed certificate for 127.0.0.1 and localhost (clients in tests skip verification). */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  if (!OPENSSL) throw new Error('openssl is not installed')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  )
  return { cert, key }
}

export interface Nginx {
  dir: string
  /** The main server: https://127.0.0.1:port (or http:// without TLS). */
  url: string
  /** The redirecting plain-HTTP server. */
  httpUrl: string
  /** `nginx -t`'s output for this configuration. */
  checked: string
  stop(): Promise<void>
}

/** nginx's own arguments for a configuration in `dir`, with everything it writes kept there. */
const args = (dir: string) => ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')]

/** Runs `nginx -t` on the configuration in `dir`; throws with nginx's output when it is refused. */
export function checkNginxConfig(dir: string): string {
  if (!NGINX) throw new Error('nginx is not installed')
  // nginx -t reports on stderr.
  const result = spawnSync(NGINX, [...args(dir), '-t'], { encoding: 'utf8' })
  const output = `${result.stdout}${result.stderr}`
  if (result.status !== 0) throw new Error(`nginx -t refused the configuration:\n${output}`)
  return output
}

/**
 * nginx in front of `upstreams`, as a child process of the test (not a
 * system service): `daemon off`, its own prefix, pid, logs and temporary
 * files in a fresh directory. The configuration is checked with `nginx -t`
 * first. Stopped with SIGQUIT (graceful), then SIGKILL if need be.
 */
export async function startNginx(options: { upstreams: string[]; tls?: boolean }): Promise<Nginx> {
  if (!NGINX) throw new Error('nginx is not installed')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-nginx-'))
  // nginx's workers may run as another user (the master runs as root in CI): let them in.
  fs.chmodSync(dir, 0o755)
  const [httpPort, mainPort] = [await freePort(), await freePort()]
  const tls = options.tls === false ? undefined : selfSignedCertificate(dir)
  const rendered = renderNginxConfig(fs.readFileSync(NGINX_CONF, 'utf8'), {
    upstreams: options.upstreams,
    httpPort,
    mainPort,
    ...(tls ? { tls } : {}),
  })
  fs.writeFileSync(path.join(dir, 'ferry.conf'), rendered)
  fs.writeFileSync(path.join(dir, 'nginx.conf'), mainConfig(dir))
  const checked = checkNginxConfig(dir)
  const child: ChildProcess = spawn(NGINX, [...args(dir), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of [httpPort, mainPort]) await waitForPort(port, () => child.exitCode !== null)
  } catch (error) {
    const log = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''
    await stop()
    throw new Error(`nginx did not start: ${(error as Error).message}\n${output}${log}`)
  }
  const scheme = tls ? 'https' : 'http'
  return { dir, url: `${scheme}://127.0.0.1:${mainPort}`, httpUrl: `http://127.0.0.1:${httpPort}`, checked, stop }
}

async function waitForPort(port: number, gone: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (gone()) throw new Error('nginx exited')
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`port ${port} never opened`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
