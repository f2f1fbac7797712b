import fs from 'node:fs'
import path from 'node:path'
import { defineConfig } from 'vite'

/**
 * The server as plain JavaScript for `npm start` / `npm run serve`, so a
 * restart does not compile TypeScript (see docs/DEVELOPING.md). An SSR build:
 * build/server/main.js holds the whole server, and each migration is its own
 * file in build/migrations/, where server/db/migrate.ts looks for them.
 */
const migrations = Object.fromEntries(
  fs
    .readdirSync('migrations')
    .filter((file) => file.endsWith('.ts'))
    .map((file) => [`migrations/${path.basename(file, '.ts')}`, `migrations/${file}`]),
)

export default defineConfig({
  // The server only: no public dir to copy.
  publicDir: false,
  logLevel: 'warn',
  define: {
    // server/db/migrate.ts's code lands in build/server/main.js; the migrations are in build/migrations/.
    __FERRY_MIGRATIONS_DIR__: JSON.stringify('../migrations'),
  },
  ssr: {
    // Pure JavaScript packages of many small modules, loaded at every start: bundled, they load
    // in a third of the time. Everything else (native argon2, PGlite's WebAssembly, pino's
    // workers) stays in node_modules.
    noExternal: ['kysely', 'typebox', '@fastify/type-provider-typebox'],
  },
  build: {
    ssr: true,
    outDir: 'build',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: {
      input: { 'server/main': 'server/main.ts', ...migrations },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'server/chunks/[name]-[hash].js' },
    },
  },
})
