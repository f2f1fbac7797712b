import fs from 'node:fs'
import { defineConfig } from 'vite'

/**
 * The server as plain JavaScript for `npm start` / `npm run serve`, so a
 * restart does not compile TypeScript (see docs/DEVELOPING.md). An SSR build:
 * dependencies stay in node_modules (native and WebAssembly files load from
 * their packages). Modules keep their paths under build/, so
 * server/db/migrate.ts finds build/migrations/*.js exactly as it finds
 * migrations/*.ts from the source.
 */
const migrations = fs
  .readdirSync('migrations')
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `migrations/${file}`)

export default defineConfig({
  // The server only: no public dir to copy.
  publicDir: false,
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: 'build',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: {
      input: ['server/main.ts', ...migrations],
      output: { preserveModules: true, preserveModulesRoot: '.', entryFileNames: '[name].js', format: 'es' },
    },
  },
})
