import fs from 'node:fs'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { sendNotFound } from './error-handler.ts'

/** The client talks only to its own origin; no inline script or style anywhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ferry</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Ferry</h1><p>The client has not been built. Run <code>npm run build</code> (npm start does it for you).</p></body></html>`

/**
 * Serves the built client. Hashed assets are immutable; the shell, the
 * service worker and the manifest are revalidated on every load so an update
 * is noticed at once. Non-API paths fall back to the shell (client routing).
 */
export async function registerClient(app: FastifyInstance, clientDir: string): Promise<void> {
  app.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith('/api/')) reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'same-origin')
  })
  const indexFile = path.join(clientDir, 'index.html')
  if (!fs.existsSync(indexFile)) {
    app.log.warn({ clientDir }, 'client not built; serving a placeholder page')
    app.get('/', (_request, reply) => reply.type('text/html').send(PLACEHOLDER))
    return
  }
  await app.register(fastifyStatic, {
    root: clientDir,
    wildcard: false,
    index: false,
    setHeaders(reply, filePath) {
      const relative = path.relative(clientDir, filePath)
      const cache = relative.startsWith(`assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'
      reply.header('cache-control', cache)
    },
  })
  const shell = () => fs.promises.readFile(indexFile)
  app.get('/', async (_request, reply) =>
    reply
      .header('cache-control', 'no-cache')
      .type('text/html')
      .send(await shell()),
  )
  // Client routes fall back to the shell. A catch-all GET route, not a second
  // not-found handler: the error handling already owns the root one (Fastify
  // refuses two), and everything else still gets its JSON 404.
  app.get('/*', async (request, reply) => {
    const url = request.url.split('?')[0]!
    if (url.startsWith('/api/') || path.extname(url) !== '') {
      return sendNotFound(request, reply)
    }
    return reply
      .header('cache-control', 'no-cache')
      .type('text/html')
      .send(await shell())
  })
}
