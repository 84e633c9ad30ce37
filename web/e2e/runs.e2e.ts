// Runs: one started from the jobs list, watched live until `succeeded`, with the row counts
// `fust run` prints for the same job; and a long one cancelled from its run page.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { api, axeViolations, fust, parseRunSummary, screenshot, browserHooks, writeJob } from './harness';

const { server, open } = browserHooks();

const ORDERS_JOB = `name: e2e_run_orders
input:
  type: csv
  path: orders.csv
pipeline:
  processors:
    - type: filter
      condition: "amount > 100 AND status = 'paid'"
    - type: mapping
      fields: { amount_cents: "CAST(amount * 100 AS BIGINT)" }
output:
  type: parquet
  path: out/e2e_run_orders.parquet
`;

/** A number the run page shows under `label` (Rows in, Rows out, …). */
async function stat(page: Page, label: string): Promise<string> {
  const dd = page.locator('.stat').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
  return (await dd.textContent()) ?? '';
}

const count = (text: string) => Number(text.replace(/,/g, ''));

/**
 * An API that never runs out of pages: 50 records a page, each after 50 ms. A job reading
 * it runs until it is cancelled.
 */
let endless: Server;
let endlessUrl: string;

beforeAll(async () => {
  endless = createServer((request, response) => {
    const page = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('page') ?? '1');
    const records = Array.from({ length: 50 }, (_, i) => ({ id: (page - 1) * 50 + i, amount: i * 1.5 }));
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(records));
    }, 50);
  });
  await new Promise<void>((listening) => endless.listen(0, '127.0.0.1', listening));
  endlessUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}/orders`;
});
afterAll(async () => {
  endless?.closeAllConnections();
  await new Promise((closed) => endless?.close(closed));
});

describe('runs', () => {
  test('a run started from the jobs list reaches succeeded with the counts `fust run` prints', async () => {
    await api(server, 'PUT', '/jobs/e2e_run_orders', ORDERS_JOB);
    writeJob(server, 'e2e_run_orders.yaml', ORDERS_JOB);
    const expected = parseRunSummary((await fust(server, 'run', 'e2e_run_orders.yaml')).stderr);

    const session = await open();
    const { page } = session;
    await session.goto('/jobs');
    await page.getByRole('button', { name: 'Run now: e2e_run_orders' }).click();
    await page.getByText('Queued a run of e2e_run_orders.').waitFor();
    await page.getByRole('link', { name: 'Watch the run' }).click();
    await page.getByRole('heading', { name: 'Run of e2e_run_orders', level: 1 }).waitFor();
    await page.locator('.run-heading .badge-succeeded').waitFor({ timeout: 30_000 });
    await expect.poll(async () => count(await stat(page, 'Rows in'))).toBe(expected.rowsIn);
    await expect.poll(async () => count(await stat(page, 'Rows out'))).toBe(expected.rowsOut);
    expect(await stat(page, 'Output')).toContain('out/e2e_run_orders.parquet');
    await page.getByRole('log', { name: 'Run log' }).waitFor();
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    expect(existsSync(join(server.dataDir, 'out', 'e2e_run_orders.parquet'))).toBe(true);
    await screenshot(page, 'run-succeeded');
    expect.soft(await axeViolations(page, 'run page')).toEqual([]);
  });

  test('a long run is watched live and cancelled from its run page', async () => {
    const job = `name: e2e_endless
input:
  type: http
  url: ${endlessUrl}
  pagination: { type: page, page_param: page }
  schema: { id: bigint, amount: double }
  requests_per_second: 10
output:
  type: csv
  path: out/e2e_endless.csv
`;
    await api(server, 'PUT', '/jobs/e2e_endless', job);

    const session = await open();
    const { page } = session;
    await session.goto('/jobs/e2e_endless');
    await page.getByRole('heading', { name: 'e2e_endless', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('heading', { name: 'Run of e2e_endless', level: 1 }).waitFor();
    await page.locator('.run-heading .badge-running').waitFor({ timeout: 30_000 });
    // Live progress over the WebSocket: the counters move while it runs.
    await page.locator('.run-heading').getByText('live', { exact: false }).waitFor();
    await expect.poll(async () => count(await stat(page, 'Rows in')), { timeout: 20_000 }).toBeGreaterThan(100);
    // The chart draws the samples the events brought.
    await page.getByRole('img', { name: 'Rows per second over the run' }).locator('canvas').waitFor();
    await expect.poll(async () => count(await stat(page, 'Rows in')), { timeout: 20_000 }).toBeGreaterThan(1000);
    await screenshot(page, 'run-live');
    expect.soft(await axeViolations(page, 'live run')).toEqual([]);

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('.run-heading .badge-cancelled').waitFor({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Why it was cancelled' }).waitFor();
    const id = new URL(page.url()).hash.replace('#/runs/', '');
    const run = await api<{ state: string }>(server, 'GET', `/runs/${id}`);
    expect(run.state).toBe('cancelled');
    // A cancelled run publishes nothing.
    expect(existsSync(join(server.dataDir, 'out', 'e2e_endless.csv'))).toBe(false);
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
  });
});
