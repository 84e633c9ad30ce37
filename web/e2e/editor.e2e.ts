// The YAML editor: a job typed in, a validation error underlined at its line, fixed from the
// problems list, previewed (the same rows `fust preview` prints), explained (the plan
// `fust explain` prints) and saved.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import {
  api, axeViolations, fust, lintErrorLines, parseTable, sameCell, screenshot, browserHooks, setYaml, writeJob,
} from './harness';

const { server, open } = browserHooks();

/** Line 14 misspells the output's `path`; the server answers with that line and column. */
const WITH_ERROR = `name: e2e_paid_orders
# paid orders over 100, by order id
input:
  type: csv
  path: orders.csv
pipeline:
  processors:
    - type: filter
      condition: "amount > 100 AND status = 'paid'"
    - type: sql
      query: "SELECT order_id, cust_id, amount, order_date FROM input ORDER BY order_id"
output:
  type: csv
  pathh: out/e2e_paid_orders.csv
`;
const ERROR_LINE = 14;
const FIXED = WITH_ERROR.replace('pathh:', 'path:');

/** The preview table: column names (without their types) and the cells' text. */
async function previewTable(page: Page): Promise<string[][]> {
  const table = page.getByRole('region', { name: 'Preview rows' }).locator('table');
  await table.waitFor();
  return table.evaluate((element) => {
    const header = Array.from(element.querySelectorAll('thead th')).map((th) => th.firstChild?.textContent?.trim() ?? '');
    const rows = Array.from(element.querySelectorAll('tbody tr')).map((tr) =>
      Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.trim() ?? ''),
    );
    return [header, ...rows];
  });
}

describe('the YAML editor', () => {
  test('underlines a validation error at its line, and previews what `fust preview` prints once fixed', async () => {
    const session = await open();
    // The job with the error is answered 200 by /validate?report=true: the browser console
    // must stay free of HTTP errors while the user types.
    const { page } = session;
    await session.goto('/new');
    await page.getByRole('heading', { name: 'New job', level: 1 }).waitFor();
    await page.locator('.cm-content').waitFor();

    await setYaml(page, WITH_ERROR);
    await page.locator('.cm-lintRange-error').first().waitFor();
    expect(await page.locator('.cm-content > .cm-line').count()).toBe(WITH_ERROR.split('\n').length);
    expect(await lintErrorLines(page)).toEqual([ERROR_LINE]);
    const problems = page.getByRole('list', { name: 'Problems' });
    expect(await problems.textContent()).toContain(`line ${ERROR_LINE}:3`);
    expect(await problems.textContent()).toContain('pathh');
    expect(await page.locator('.validation-status').textContent()).toContain('1 problem');
    // Hovering the underline shows the server's message there too.
    await page.locator('.cm-lintRange-error').first().hover();
    const tooltip = page.locator('.cm-tooltip-lint');
    await tooltip.waitFor();
    expect(await tooltip.textContent()).toContain('unknown csv option `pathh`');
    await screenshot(page, 'editor-validation-error');
    expect.soft(await axeViolations(page, 'editor')).toEqual([]);

    // Fix it where the problems list puts the cursor: at the misspelt key.
    await problems.getByRole('button', { name: `line ${ERROR_LINE}:3` }).click();
    for (let i = 0; i < 'pathh'.length; i += 1) {
      await page.keyboard.press('Delete');
    }
    await page.keyboard.insertText('path');
    await page.locator('.validation-status').getByText('✓ Valid').waitFor();
    expect(await page.locator('.cm-lintRange-error').count()).toBe(0);
    expect(await lintErrorLines(page)).toEqual([]);

    await page.locator('#preview-limit').selectOption('100');
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    const shown = await previewTable(page);

    writeJob(server, 'e2e_paid_orders.yaml', FIXED);
    const printed = parseTable((await fust(server, 'preview', 'e2e_paid_orders.yaml', '--limit', '100')).stdout);
    expect(shown[0]).toEqual(printed[0]);
    expect(shown.length).toBe(printed.length);
    expect(shown.length).toBeGreaterThan(10);
    shown.slice(1).forEach((row, r) => {
      row.forEach((cell, c) => {
        expect(sameCell(cell, printed[r + 1][c]), `row ${r + 1}, ${shown[0][c]}: ${cell} vs ${printed[r + 1][c]}`).toBe(true);
      });
    });

    // Explain shows the plan `fust explain` prints (the data directories apart).
    await page.getByRole('button', { name: 'Explain', exact: true }).click();
    const plan = await page.getByRole('region', { name: 'Plan' }).locator('pre').textContent();
    const printedPlan = (await fust(server, 'explain', 'e2e_paid_orders.yaml')).stdout;
    expect(plan?.replaceAll(server.dataDir, 'DIR').trim()).toBe(printedPlan.replaceAll(server.cliDir, 'DIR').trim());
    expect(plan).toContain('SortExec');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // A new job's page becomes the job's own page once it is stored.
    await page.getByRole('heading', { name: 'e2e_paid_orders', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).waitFor();
    expect(page.url()).toContain('#/jobs/e2e_paid_orders');
    // ... and says that it was saved.
    await page.getByText('Saved e2e_paid_orders, version 1.').waitFor();
    const stored = await api<{ definition: string }>(server, 'GET', '/jobs/e2e_paid_orders');
    expect(stored.definition).toBe(FIXED);
  });
});
