/// <reference types="vitest/config" />
// Vite config: the console's build, the dev server's proxy to a running `fust serve`, and vitest.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Where `npm run dev` forwards API calls; `FUST_API=http://host:port npm run dev` overrides it.
const apiTarget = process.env.FUST_API ?? 'http://127.0.0.1:8080';

// The API's top-level paths. The console itself uses hash routes (`/#/jobs`), so none collide.
const apiPaths = [
  '/health', '/jobs', '/runs', '/plugins', '/validate', '/preview', '/explain',
  '/overview', '/events', '/metrics', '/openapi.json',
];

export default defineConfig({
  plugins: [react()],
  base: './',
  server: {
    proxy: Object.fromEntries(
      apiPaths.map((path) => [
        path,
        {
          target: apiTarget,
          ws: true,
          // The server refuses writes whose Origin is not its own; in development the page's
          // origin is Vite's, so present the API's origin instead.
          headers: { origin: apiTarget },
          changeOrigin: true,
        },
      ]),
    ),
  },
  build: {
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts'],
  },
});
