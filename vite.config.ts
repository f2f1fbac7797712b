import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

/**
 * The client lives in client/ and builds to dist/ at the repo root, where the
 * server serves it. The service worker is our own (injectManifest) and is
 * registered from client/pwa/register.ts with workbox-window: the server's CSP
 * has no 'unsafe-inline', so the plugin must not inject a register script.
 */
export default defineConfig({
  root: 'client',
  publicDir: 'public',
  define: {
    // Tests rebuild with another id to produce a new service worker (update prompt).
    __FERRY_BUILD__: JSON.stringify(process.env.FERRY_BUILD_ID ?? 'local'),
  },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    // The CSP forbids inline scripts; keep every module a real file.
    modulePreload: { polyfill: false },
  },
  plugins: [
    preact(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: '.',
      filename: 'sw.ts',
      injectRegister: false,
      manifestFilename: 'manifest.webmanifest',
      injectManifest: {
        rollupFormat: 'iife',
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
      },
      manifest: {
        id: '/',
        name: 'Ferry',
        short_name: 'Ferry',
        description: 'Chat that keeps working on a bad network.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        theme_color: '#0f5e9c',
        background_color: '#0b1320',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      devOptions: { enabled: false },
    }),
  ],
})
