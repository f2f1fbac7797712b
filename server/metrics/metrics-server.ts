import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { MetricsSource } from './metrics.ts'

export interface MetricsServer {
  port: number
  close(): Promise<void>
}

export interface MetricsServerOptions {
  host: string
  port: number
  source: MetricsSource
  /** Told when a scrape fails (the answer is a plain 503, no details). */
  onError?: (error: unknown) => void
}

/**
 * METRICS_PORT: /metrics on a port of its own, bound to METRICS_HOST
 * (127.0.0.1 unless told otherwise), so nothing on the public port shows
 * it. Node's own http server: no app, no cookies, no routes but one.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const url = (request.url ?? '/').split('?')[0]
    if (url !== '/metrics') return answer(response, 404, 'Not found: metrics are at /metrics\n')
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD')
      return answer(response, 405, 'Method not allowed\n')
    }
    options.source().then(
      ({ contentType, body }) => answer(response, 200, request.method === 'HEAD' ? '' : body, contentType),
      (error) => {
        options.onError?.(error)
        answer(response, 503, 'Metrics are not available right now\n')
      },
    )
  })
  // A scraper that keeps its connection open must not hold up shutdown.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function answer(
  response: http.ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
) {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' })
  response.end(body)
}
