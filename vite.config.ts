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
        // Only the install dialog shows them: not worth a place in every device's cache.
        globIgnores: ['screenshots/**'],
      },
      manifest: {
        id: '/',
        name: 'Ferry',
        short_name: 'Ferry',
        description: 'Chat that keeps working on a bad network.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        // No orientation: a tablet or a phone on its side may turn the app. The splash matches light mode.
        theme_color: '#0f5e9c',
        background_color: '#f4f6fa',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
        // The richer install dialog; drawn by test/e2e/new-user-ui.e2e.test.ts (FERRY_WRITE_SCREENSHOTS=1).
        screenshots: [
          {
            src: '/screenshots/room-narrow.png',
            sizes: '390x844',
            type: 'image/png',
            form_factor: 'narrow',
            label: 'A room on a phone',
          },
          {
            src: '/screenshots/room-wide.png',
            sizes: '1280x800',
            type: 'image/png',
            form_factor: 'wide',
            label: 'Rooms and a conversation on a desktop',
          },
        ],
      },
      devOptions: { enabled: false },
    }),
  ],
})
