/** Replaced at build time (vite.config.ts); tests rebuild with another id to ship an update. */
declare const __FERRY_BUILD__: string
