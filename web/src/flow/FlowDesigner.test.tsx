// The designer in jsdom: palette, selection, the options form, reorder, delete, route
// branches and problems, with the YAML held by a parent as the job editor holds it.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { PluginView, Problem } from '../api/types';
import FlowDesigner from './FlowDesigner';

beforeAll(() => {
  // React Flow measures its nodes; jsdom has no layout.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
});

afterEach(cleanup);

const schema = (properties: Record<string, unknown>, required: string[] = []) =>
  ({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  }) as unknown as PluginView['options'];

const PLUGINS: PluginView[] = [
  {
    name: 'csv',
    role: 'input',
    description: 'CSV files',
    options: schema({ path: { type: 'string' }, has_header: { type: 'boolean', default: true } }, ['path']),
    example: 'type: csv\npath: data/orders.csv\n',
  },
  {
    name: 'filter',
    role: 'processor',
    description: 'Keep or drop rows by a SQL condition',
    options: schema({ condition: { type: 'string' }, mode: { type: 'string', enum: ['include', 'exclude'] } }, ['condition']),
    example: 'type: filter\ncondition: "amount > 100"\n',
  },
  {
    name: 'sql',
    role: 'processor',
    description: 'Any SELECT',
    options: schema({ query: { type: 'string' } }, ['query']),
    example: 'type: sql\nquery: SELECT * FROM input\n',
  },
  {
    name: 'route',
    role: 'processor',
    description: 'Send records to named outputs',
    options: schema({ routes: { type: 'object', additionalProperties: { type: 'string' } }, default: { type: ['string', 'null'] } }, ['routes']),
    example: 'type: route\nroutes:\n  big: amount >= 1000\n',
  },
  {
    name: 'parquet',
    role: 'output',
    description: 'Parquet files',
    options: schema({ path: { type: 'string' }, compression: { type: 'string' } }, ['path']),
    example: 'type: parquet\npath: out/x.parquet\n',
  },
];

const JOB = `# Paid orders, as Parquet.
name: paid_orders
input:
  type: csv
  path: examples/data/orders.csv
pipeline:
  processors:
    - type: filter
      condition: "amount > 100"   # in euros
    - type: sql
      query: SELECT * FROM input
output:
  type: parquet
  path: out/paid.parquet
`;

/** The designer under a parent that keeps the YAML, as the job editor does. */
function renderDesigner(initial: string, problems: Problem[] = []) {
  const seen: string[] = [];
  function Harness() {
    const [yaml, setYaml] = useState(initial);
    return (
      <FlowDesigner
        yaml={yaml}
        onYamlChange={(next) => {
          seen.push(next);
          setYaml(next);
        }}
        plugins={PLUGINS}
        problems={problems}
      />
    );
  }
  render(<Harness />);
  return { last: () => seen[seen.length - 1] ?? initial, seen };
}

/**
 * A node's button by its label. React Flow keeps nodes hidden until it has measured
 * them, which jsdom never lets it do, and hidden elements have no accessible name.
 */
function nodeButton(label: RegExp): HTMLElement {
  const found = screen.getAllByRole('button', { hidden: true }).filter((b) => label.test(b.getAttribute('aria-label') ?? ''));
  expect(found, `one button labelled ${label}`).toHaveLength(1);
  return found[0];
}

describe('FlowDesigner', () => {
  it('draws a node per section and a palette per role', () => {
    renderDesigner(JOB);
    expect(nodeButton(/^Edit csv input$/)).toBeTruthy();
    expect(nodeButton(/^Edit filter processor 1$/)).toBeTruthy();
    expect(nodeButton(/^Edit sql processor 2$/)).toBeTruthy();
    expect(nodeButton(/^Edit parquet output$/)).toBeTruthy();
    const palette = screen.getByRole('navigation', { name: 'Plugins' });
    expect(within(palette).getByRole('button', { name: 'Add csv input' })).toBeTruthy();
    expect(within(palette).getByRole('button', { name: 'Add filter processor' })).toBeTruthy();
    expect(within(palette).getByRole('button', { name: 'Add parquet output' })).toBeTruthy();
  });

  it('adds a processor from the palette with its example, after the selected one', () => {
    const { last } = renderDesigner(JOB);
    fireEvent.click(nodeButton(/^Edit filter processor 1$/));
    fireEvent.click(screen.getByRole('button', { name: 'Add sql processor' }));
    const job = parse(last());
    expect(job.pipeline.processors.map((p: { type: string }) => p.type)).toEqual(['filter', 'sql', 'sql']);
    expect(last()).toContain('condition: "amount > 100"   # in euros');
    // The new node is selected.
    expect(screen.getByRole('heading', { name: 'sql processor 2' })).toBeTruthy();
  });

  it('moves a processor with its buttons and follows it', () => {
    const { last } = renderDesigner(JOB);
    fireEvent.click(nodeButton(/^Edit filter processor 1$/));
    expect((screen.getByRole('button', { name: 'Move up' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Move down' }));
    expect(parse(last()).pipeline.processors.map((p: { type: string }) => p.type)).toEqual(['sql', 'filter']);
    expect(screen.getByRole('heading', { name: 'filter processor 2' })).toBeTruthy();
    expect(nodeButton(/^Edit sql processor 1$/)).toBeTruthy();
  });

  it('keeps the focus on a move button when the processor reaches the end', () => {
    renderDesigner(JOB);
    fireEvent.click(nodeButton(/^Edit filter processor 1$/));
    const down = screen.getByRole('button', { name: 'Move down' });
    down.focus();
    fireEvent.click(down);
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Move up' }));
  });

  it('edits options through the generated form, keeping the rest of the YAML', () => {
    const { last } = renderDesigner(JOB);
    fireEvent.click(nodeButton(/^Edit parquet output$/));
    const path = screen.getByLabelText(/path/) as HTMLInputElement;
    expect(path.value).toBe('out/paid.parquet');
    fireEvent.change(path, { target: { value: 'out/other.parquet' } });
    expect(last()).toBe(JOB.replace('out/paid.parquet', 'out/other.parquet'));
  });

  it('writes nothing when a form with nested choices opens, and one key when one field changes', () => {
    const http: PluginView = {
      name: 'http',
      role: 'input',
      description: 'A REST API',
      example: 'type: http\nurl: https://api.example.com\n',
      options: schema(
        {
          url: { type: 'string' },
          timeout: { anyOf: [{ type: 'integer', format: 'uint64', minimum: 0 }, { type: 'string' }] },
          auth: {
            oneOf: [
              { type: 'object', properties: { type: { const: 'bearer' }, token: { type: 'string' } }, required: ['type', 'token'] },
              { type: 'object', properties: { type: { const: 'basic' }, user: { type: 'string' }, password: { type: 'string' } }, required: ['type', 'user'] },
            ],
          },
          pagination: {
            oneOf: [
              { type: 'object', properties: { type: { const: 'page' }, page_param: { type: 'string', default: 'page' } }, required: ['type'] },
              { type: 'object', properties: { type: { const: 'cursor' }, cursor_path: { type: 'string' } }, required: ['type', 'cursor_path'] },
            ],
          },
          params: { type: 'object', additionalProperties: { type: 'string' } },
          headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
          max_retries: { type: 'integer', format: 'uint32', default: 5 },
          schema: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
          metadata: { type: 'array', items: { type: 'string' }, minItems: 1 },
        },
        ['url'],
      ),
    };
    const job = `# Orders from an API.
input:
  type: http
  url: \${API_URL:-http://127.0.0.1:8080/v1/orders}
  params: {status: paid}
  auth: {type: bearer, token: "\${API_TOKEN:-}"}
  timeout: 30s
output: {type: parquet, path: out/api.parquet}
`;
    const seen: string[] = [];
    function Harness() {
      const [yaml, setYaml] = useState(job);
      return (
        <FlowDesigner
          yaml={yaml}
          onYamlChange={(next) => {
            seen.push(next);
            setYaml(next);
          }}
          plugins={[...PLUGINS, http]}
          problems={[]}
        />
      );
    }
    render(<Harness />);
    fireEvent.click(nodeButton(/^Edit http input$/));
    expect(screen.getByRole('heading', { name: 'http input' })).toBeTruthy();
    expect(seen).toEqual([]);
    const url = screen.getByLabelText(/^url/) as HTMLInputElement;
    fireEvent.change(url, { target: { value: 'https://api.example.com/orders' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(job.replace('${API_URL:-http://127.0.0.1:8080/v1/orders}', 'https://api.example.com/orders'));
  });

  it('deletes the selected node with the button and the Delete key', () => {
    const { last } = renderDesigner(JOB);
    fireEvent.click(nodeButton(/^Edit sql processor 2$/));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    expect(parse(last()).pipeline.processors).toHaveLength(1);
    fireEvent.click(nodeButton(/^Edit filter processor 1$/));
    fireEvent.keyDown(screen.getByRole('group', { name: 'Job graph' }), { key: 'Delete' });
    expect(parse(last()).pipeline).toBeUndefined();
    expect(last()).toContain('# Paid orders, as Parquet.');
  });

  it('marks invalid nodes with the server message, and lists job-level problems', () => {
    renderDesigner(JOB, [
      { key: 'pipeline.processors[0].condition', message: 'unknown column `amount`', line: 9, column: 18 },
      { key: 'settings.batch_size', message: 'expected a number' },
    ]);
    const button = nodeButton(/^Edit filter processor 1 \(1 problem\)$/);
    const node = button.closest('.flow-node')!;
    expect(node.className).toContain('flow-node-invalid');
    expect(node.textContent).toContain('unknown column `amount`');
    expect(screen.getByRole('list', { name: 'Problems of the whole job' }).textContent).toContain('expected a number');
    fireEvent.click(button);
    expect(screen.getByRole('alert').textContent).toContain('unknown column `amount`');
  });

  it('connects and disconnects route branches from the panel', () => {
    const routed = `input: {type: csv, path: a.csv}
pipeline:
  processors:
    - type: route
outputs:
  big: {type: parquet, path: big.parquet}
  rest: {type: parquet, path: rest.parquet}
`;
    const { last } = renderDesigner(routed);
    fireEvent.click(nodeButton(/^Edit route processor 1$/));
    fireEvent.change(screen.getByLabelText('Condition (SQL)'), { target: { value: 'amount >= 1000' } });
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(parse(last()).pipeline.processors[0].routes).toEqual({ big: 'amount >= 1000' });
    fireEvent.change(screen.getByLabelText('Output'), { target: { value: 'outputs.rest' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make default' }));
    expect(parse(last()).pipeline.processors[0].default).toBe('rest');
    fireEvent.click(screen.getByRole('button', { name: 'Disconnect the branch to big' }));
    expect(parse(last()).pipeline.processors[0].routes).toEqual({});
  });

  it('renames a named output and the branches to it', () => {
    const routed = `input: {type: csv, path: a.csv}
pipeline:
  processors:
    - {type: route, routes: {big: "amount > 1"}}
outputs:
  big: {type: parquet, path: big.parquet}
`;
    const { last } = renderDesigner(routed);
    fireEvent.click(nodeButton(/^Edit parquet output big$/));
    const name = screen.getByLabelText('Name');
    fireEvent.change(name, { target: { value: 'large' } });
    fireEvent.blur(name);
    expect(last()).toBe(routed.replaceAll('big:', 'large:'));
  });

  it('says why an edit was refused', () => {
    const routed = 'input: {type: csv, path: a.csv}\noutputs:\n  big: {type: parquet, path: big.parquet}\n  small: {type: parquet, path: small.parquet}\n';
    const { seen } = renderDesigner(routed);
    fireEvent.click(nodeButton(/^Edit parquet output small$/));
    const name = screen.getByLabelText('Name');
    fireEvent.change(name, { target: { value: 'big' } });
    fireEvent.keyDown(name, { key: 'Enter' });
    expect(screen.getByRole('status').textContent).toContain('there is already an output called `big`');
    expect(seen).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss the message' }));
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('builds a job from nothing with the palette', () => {
    const { last } = renderDesigner('');
    expect(screen.getByText(/An empty job/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Add csv input' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add parquet output' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add filter processor' }));
    expect(parse(last())).toEqual({
      input: { type: 'csv', path: 'data/orders.csv' },
      pipeline: { processors: [{ type: 'filter', condition: 'amount > 100' }] },
      output: { type: 'parquet', path: 'out/x.parquet' },
    });
    expect(screen.queryByText(/An empty job/)).toBeNull();
  });

  it('follows the yaml prop and says when it does not parse', () => {
    function Switcher() {
      const [yaml, setYaml] = useState(JOB);
      return (
        <>
          <button type="button" onClick={() => setYaml('input: {type: csv\n')}>break</button>
          <FlowDesigner yaml={yaml} onYamlChange={setYaml} plugins={PLUGINS} problems={[]} />
        </>
      );
    }
    render(<Switcher />);
    act(() => fireEvent.click(screen.getByRole('button', { name: 'break' })));
    expect(screen.getByRole('alert').textContent).toMatch(/does not parse/);
    expect((screen.getByRole('button', { name: 'Add csv input' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
