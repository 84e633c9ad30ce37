// The flow designer: a job built from the palette, the options forms and the panel's
// buttons (move, delete, rename, route branches); the YAML it wrote runs with `fust run`
// and gives the same output files as the same job written by hand.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { parse } from 'yaml';
import { api, axeViolations, fust, parseRunSummary, screenshot, browserHooks, setYaml, writeJob } from './harness';

const { server, open } = browserHooks();

/** The job the designer should build, written by hand (where it writes apart). */
const BY_HAND = `name: e2e_designed
input:
  type: csv
  path: orders.csv
pipeline:
  processors:
    - type: filter
      condition: amount > 100
    - type: filter
      condition: status = 'paid'
    - type: route
      routes:
        output: amount >= 300
      default: small
output:
  type: csv
  path: hand/big.csv
outputs:
  small:
    type: csv
    path: hand/small.csv
`;

/** The options panel of the selected node. */
function panel(page: Page, title: string): Locator {
  return page.getByRole('complementary', { name: `${title}: options` });
}

/** Types into a field of a node's options form (labelled by the option's name). */
async function fillOption(page: Page, title: string, option: string, value: string): Promise<void> {
  const field = panel(page, title).getByLabel(new RegExp(`^${option}\\*?$`));
  await field.fill(value);
}

/** Sorted lines of a CSV file (its header first): the outputs' rows may come in any order. */
function csvRows(path: string): string[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
  return [header, ...rows.sort()];
}

describe('the flow designer', () => {
  test('builds a job whose YAML runs and writes what the same job written by hand writes', async () => {
    const session = await open();
    // The job is invalid on the way (a route without branches): /validate?report=true says
    // so with 200, so no HTTP error may show in the browser console.
    const { page } = session;
    await session.goto('/new');
    await page.locator('.cm-content').waitFor();
    // The designer cannot give a job its name: that is the one line typed in YAML.
    await setYaml(page, 'name: e2e_designed\n');
    await page.getByRole('tab', { name: 'Designer' }).click();
    const palette = page.getByRole('navigation', { name: 'Plugins' });
    await palette.getByRole('button', { name: 'Add csv input' }).waitFor();
    await page.getByText('An empty job: add an input and an output from the palette.').waitFor();

    // The input; a new node opens its options.
    await palette.getByRole('button', { name: 'Add csv input' }).click();
    await fillOption(page, 'csv input', 'path', 'orders.csv');

    // Two filters, the second moved above the first; a third processor added and deleted.
    await palette.getByRole('button', { name: 'Add filter processor' }).click();
    await fillOption(page, 'filter processor 1', 'condition', "status = 'paid'");
    await palette.getByRole('button', { name: 'Add filter processor' }).click();
    await fillOption(page, 'filter processor 2', 'condition', 'amount > 100');
    await panel(page, 'filter processor 2').getByRole('button', { name: 'Move up' }).click();
    await panel(page, 'filter processor 1').waitFor();
    expect(await panel(page, 'filter processor 1').getByLabel(/^condition\*?$/).inputValue()).toBe('amount > 100');
    await palette.getByRole('button', { name: 'Add deduplicate processor' }).click();
    // Added after the selected processor, wherever that is.
    await page.getByRole('complementary', { name: /^deduplicate processor \d: options$/ }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: /^Edit deduplicate processor/ }).waitFor({ state: 'detached' });

    // Two outputs: the main one, and one renamed `small`.
    await palette.getByRole('button', { name: 'Add csv output' }).click();
    await fillOption(page, 'csv output', 'path', 'designed/big.csv');
    await palette.getByRole('button', { name: 'Add csv output' }).click();
    const second = page.getByRole('complementary', { name: /^csv output \w+: options$/ });
    await second.getByLabel('Name', { exact: true }).fill('small');
    await second.getByLabel('Name', { exact: true }).press('Enter');
    await fillOption(page, 'csv output small', 'path', 'designed/small.csv');

    // A route at the end: big orders to `output`, the rest to `small` by default.
    await palette.getByRole('button', { name: 'Add route processor' }).click();
    const branches = panel(page, 'route processor 3').getByRole('group', { name: 'Branches' });
    // The label wraps its select, so its text holds the options' too: find the select inside.
    const output = branches.locator('label', { hasText: /^Output/ }).locator('select');
    await output.selectOption({ label: 'output' });
    await branches.getByLabel('Condition (SQL)').fill('amount >= 300');
    await branches.getByRole('button', { name: 'Connect' }).click();
    await output.selectOption({ label: 'small' });
    await branches.getByRole('button', { name: 'Make default' }).click();
    await branches.getByRole('button', { name: 'Disconnect the default to small' }).waitFor();

    // Every node is drawn, and the server finds the job valid.
    for (const node of ['csv input', 'filter processor 1', 'filter processor 2', 'route processor 3', 'csv output', 'csv output small']) {
      await page.getByRole('button', { name: `Edit ${node}`, exact: true }).waitFor();
    }
    await page.locator('.validation-status').getByText('✓ Valid').waitFor();
    expect.soft(await axeViolations(page, 'designer with options')).toEqual([]);
    await screenshot(page, 'designer-options');
    // The whole graph, the options closed.
    await panel(page, 'route processor 3').getByRole('button', { name: 'Close the options' }).click();
    await panel(page, 'route processor 3').waitFor({ state: 'detached' });
    // Fit the graph to the wider canvas (the canvas's own button), and wait until it stands still.
    await page.getByRole('button', { name: 'Fit View' }).click();
    await page.locator('.react-flow__viewport').evaluate((viewport) => new Promise<void>((settled) => {
      let last = '';
      let same = 0;
      const frame = () => {
        const now = getComputedStyle(viewport).transform;
        same = now === last ? same + 1 : 0;
        last = now;
        if (same >= 10) {
          settled();
        } else {
          requestAnimationFrame(frame);
        }
      };
      requestAnimationFrame(frame);
    }));
    await screenshot(page, 'designer');
    expect.soft(await axeViolations(page, 'designer')).toEqual([]);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'e2e_designed', level: 1 }).waitFor();
    const { definition } = await api<{ definition: string }>(server, 'GET', '/jobs/e2e_designed');

    // The shape built: the processors in order, the branches, the outputs' names. (The
    // designer also writes the options of the plugins' examples, e.g. `mode: include`.)
    const designed = parse(definition);
    const processors = designed.pipeline.processors as { type: string; condition?: string }[];
    expect(processors.map((p) => p.type)).toEqual(['filter', 'filter', 'route']);
    expect(processors.map((p) => p.condition)).toEqual(['amount > 100', "status = 'paid'", undefined]);
    expect(designed.pipeline.processors[2]).toEqual({ type: 'route', routes: { output: 'amount >= 300' }, default: 'small' });
    expect(designed.input).toMatchObject({ type: 'csv', path: 'orders.csv' });
    expect(designed.output).toMatchObject({ type: 'csv', path: 'designed/big.csv' });
    expect(Object.keys(designed.outputs)).toEqual(['small']);
    expect(designed.outputs.small).toMatchObject({ type: 'csv', path: 'designed/small.csv' });
    // … and both write the same rows.
    writeJob(server, 'designed.yaml', definition);
    writeJob(server, 'by_hand.yaml', BY_HAND);
    const ranDesigned = parseRunSummary((await fust(server, 'run', 'designed.yaml')).stderr);
    const ranByHand = parseRunSummary((await fust(server, 'run', 'by_hand.yaml')).stderr);
    expect(ranDesigned).toEqual(ranByHand);
    for (const file of ['big.csv', 'small.csv']) {
      const fromDesigner = csvRows(join(server.cliDir, 'designed', file));
      expect(fromDesigner.length).toBeGreaterThan(2);
      expect(fromDesigner).toEqual(csvRows(join(server.cliDir, 'hand', file)));
    }
  });
});
