// The main pages with some history behind them: overview, jobs (also 390 px wide), runs,
// a job's editor and designer, a failed run; each checked with axe-core, in the light and
// the dark theme, and kept as a screenshot in web/e2e/artifacts/. And the jobs list's
// enable, disable and delete; the theme toggle; the skip link.
import { beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { api, axeViolations, screenshot, browserHooks } from './harness';

const { server, open } = browserHooks();

const JOBS: Record<string, string> = {
  daily_orders: `name: daily_orders
input: { type: csv, path: orders.csv }
pipeline:
  processors:
    - type: filter
      condition: "status = 'paid'"
output: { type: parquet, path: out/daily_orders.parquet }
schedule:
  cron: "0 6 * * *"
`,
  orders_by_customer: `name: orders_by_customer
input: { type: csv, path: orders.csv }
pipeline:
  processors:
    - type: aggregate
      group_by: [cust_id]
      aggregates:
        orders: "count(*)"
        total: "sum(amount)"
output: { type: csv, path: out/orders_by_customer.csv }
schedule:
  after: [daily_orders]
`,
  broken_import: `name: broken_import
input: { type: csv, path: missing/orders.csv }
output: { type: csv, path: out/broken.csv }
`,
};

interface Run {
  id: string;
  state: string;
}

/** Waits until the run has ended; its last state. */
async function finished(id: string): Promise<string> {
  for (let i = 0; i < 300; i += 1) {
    const run = await api<Run>(server, 'GET', `/runs/${id}`);
    if (!['pending', 'running'].includes(run.state)) {
      return run.state;
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new Error(`run ${id} did not end`);
}

let failedRun: string;

beforeAll(async () => {
  for (const [name, yaml] of Object.entries(JOBS)) {
    await api(server, 'PUT', `/jobs/${name}`, yaml);
  }
  const daily = await api<Run>(server, 'POST', '/jobs/daily_orders/runs');
  expect(await finished(daily.id)).toBe('succeeded');
  const broken = await api<Run>(server, 'POST', '/jobs/broken_import/runs');
  expect(await finished(broken.id)).toBe('failed');
  failedRun = broken.id;
  // `orders_by_customer` runs after `daily_orders` succeeded; wait for it too.
  for (let i = 0; i < 100; i += 1) {
    const runs = await api<Run[]>(server, 'GET', '/runs?job=orders_by_customer');
    if (runs.length > 0) {
      await finished(runs[0].id);
      break;
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
});

/** The page's axe violations, soft-failed so that every page is checked. */
async function accessible(page: Page, label: string): Promise<void> {
  expect.soft(await axeViolations(page, label), `axe on ${label}`).toEqual([]);
}

describe('the main pages', () => {
  test('overview, jobs, runs, a failed run and a job: accessible, in both themes', async () => {
    for (const theme of ['light', 'dark'] as const) {
      const session = await open({ colorScheme: theme });
      const { page } = session;
      const shot = async (name: string) => screenshot(page, theme === 'light' ? name : `${name}-dark`);

      await session.goto('/');
      await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
      await page.getByRole('heading', { name: 'Failed runs that need attention' }).waitFor();
      await page.getByRole('button', { name: 'Retry broken_import' }).waitFor();
      await page.getByRole('heading', { name: 'Scheduler' }).waitFor();
      await shot('overview');
      await accessible(page, `overview (${theme})`);

      await page.getByRole('link', { name: 'Jobs', exact: true }).click();
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      const table = page.getByRole('table', { name: 'Jobs' });
      for (const name of Object.keys(JOBS)) {
        await table.getByRole('link', { name, exact: true }).first().waitFor();
      }
      await table.getByText('0 6 * * *').waitFor();
      await table.getByText('after:').waitFor();
      await shot('jobs');
      await accessible(page, `jobs (${theme})`);
      // Search narrows the list.
      await page.getByLabel('Search jobs').fill('broken');
      await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
      await page.getByLabel('Search jobs').fill('');

      await page.getByRole('link', { name: 'Runs', exact: true }).first().click();
      await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
      await page.locator('.badge-failed').first().waitFor();
      await shot('runs');
      await accessible(page, `runs (${theme})`);

      await session.goto(`/runs/${failedRun}`);
      await page.getByRole('heading', { name: 'Run of broken_import', level: 1 }).waitFor();
      await page.getByRole('heading', { name: 'Error', exact: true }).waitFor();
      await shot('run-failed');
      await accessible(page, `failed run (${theme})`);

      await session.goto('/jobs/daily_orders');
      await page.locator('.validation-status').getByText('✓ Valid').waitFor();
      await accessible(page, `job editor (${theme})`);
      await page.getByRole('tab', { name: 'Designer' }).click();
      await page.getByRole('button', { name: 'Edit csv input', exact: true }).waitFor();
      await shot('job-designer');
      await accessible(page, `designer (${theme})`);
    }
  });

  test('the overview loads in under a second on loopback', async () => {
    const session = await open();
    const { page } = session;
    const start = Date.now();
    await session.goto('/');
    await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
    const shown = Date.now() - start;
    const loaded = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
    console.log(`overview: load event after ${Math.round(loaded)} ms, its numbers shown after ${shown} ms`);
    expect(shown).toBeLessThan(1000);
  });

  test('the jobs list 390 px wide (a phone)', async () => {
    const session = await open({ viewport: { width: 390, height: 844 } });
    const { page } = session;
    await session.goto('/jobs');
    await page.getByRole('link', { name: 'daily_orders', exact: true }).first().waitFor();
    // Nothing wider than the screen: no sideways scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'jobs-390');
    await accessible(page, 'jobs (390 px)');
  });

  test('a job disabled, enabled again and deleted after a confirmation, from the jobs list', async () => {
    const name = 'e2e_throwaway';
    await api(server, 'PUT', `/jobs/${name}`, `name: ${name}
input: { type: csv, path: orders.csv }
output: { type: csv, path: out/${name}.csv }
schedule:
  cron: "0 7 * * *"
`);
    const enabled = async () => (await api<{ enabled: boolean }>(server, 'GET', `/jobs/${name}`)).enabled;
    const session = await open();
    const { page } = session;
    await session.goto('/jobs');
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });

    await row.getByRole('button', { name: `Disable ${name}` }).click();
    await page.getByText(`${name} is disabled.`).waitFor();
    await row.getByText('disabled', { exact: true }).waitFor();
    expect(await enabled()).toBe(false);
    await row.getByRole('button', { name: `Enable ${name}` }).click();
    await page.getByText(`${name} is enabled.`).waitFor();
    expect(await enabled()).toBe(true);

    // Escape cancels the confirmation; Delete in it deletes.
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${name}?` });
    await dialog.waitFor();
    await accessible(page, 'delete confirmation');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await enabled()).toBe(true);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText(`Deleted ${name}`).waitFor();
    await row.waitFor({ state: 'detached' });
    await expect(api(server, 'GET', `/jobs/${name}`)).rejects.toThrow(/404/);
  });

  test('the theme toggle switches to dark and is kept', async () => {
    const session = await open({ colorScheme: 'light' });
    const { page } = session;
    await session.goto('/');
    await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    await page.getByRole('button', { name: 'Switch to the light theme' }).waitFor();
    // Keyboard: the skip link is the first stop and moves the focus to the page.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
  });
});
