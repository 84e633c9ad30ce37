// vitest config of the end-to-end tests (`npm run e2e`): Debian's chromium driven by
// playwright-core against a real `fust serve` (started in globalSetup.ts). One file at a
// time: the machine they run on may have two cores, shared with the server and the browser.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['e2e/globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
