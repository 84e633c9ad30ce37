// Before the end-to-end tests: checks what they need (chromium, the fust binary, the built
// console) and starts the `fust serve` they share; after them, stops it. A missing piece
// fails the run with what to install or build, never skips it.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { checkConsoleBuilt, chromiumPath, fustPath, startServer, type RunningServer, type ServerInfo } from './harness';

declare module 'vitest' {
  export interface ProvidedContext {
    server: ServerInfo;
  }
}

let server: RunningServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  chromiumPath();
  fustPath();
  checkConsoleBuilt();
  server = await startServer(`e2e-${randomBytes(12).toString('hex')}`);
  const { url, token, dataDir, cliDir, log } = server;
  project.provide('server', { url, token, dataDir, cliDir, log });
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
