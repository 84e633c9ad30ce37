// Unit tests of the options form's helpers and the designer's layout.
import { describe, expect, it } from 'vitest';
import { yamlToGraph } from './convert';
import { cleanFormData, errorTree, exampleOptions, formSchema } from './form';
import { COLUMN_WIDTH, layoutGraph } from './layout';

// The shape schemars gives a plugin's options (draft 2020-12, formats, defaults).
const CSV_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'CsvSourceConfig',
  type: 'object',
  properties: {
    path: { description: 'A file, a directory, a glob or a URL.', type: 'string' },
    has_header: { type: 'boolean', default: true },
    infer_rows: { type: 'integer', format: 'uint', minimum: 0, default: 1000 },
    default: { type: 'string', description: 'an option called default' },
    storage: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
  },
  required: ['path'],
  additionalProperties: false,
};

describe('formSchema', () => {
  it('drops $schema, defaults, formats and the title, keeping options so named', () => {
    const s = formSchema(CSV_SCHEMA);
    expect(s.$schema).toBeUndefined();
    expect(s.title).toBeUndefined();
    const props = s.properties as Record<string, Record<string, unknown>>;
    expect(props.has_header).toEqual({ type: 'boolean' });
    expect(props.infer_rows).toEqual({ type: 'integer', minimum: 0 });
    expect(props.default).toEqual({ type: 'string', description: 'an option called default' });
    expect(s.required).toEqual(['path']);
  });

  it('makes an empty schema an object', () => {
    expect(formSchema({})).toEqual({ type: 'object' });
    expect(formSchema(null)).toEqual({ type: 'object' });
  });
});

describe('errorTree', () => {
  it('puts problems at the options they name', () => {
    const tree = errorTree(
      [
        { key: 'pipeline.processors[1].condition', message: 'unknown column `nme`' },
        { key: 'pipeline.processors[1].auth.token', message: 'unset ${TOKEN}' },
        { key: 'pipeline.processors[1]', message: 'bad section' },
        { key: 'pipeline.processors[1].condition', message: 'second' },
      ],
      'pipeline.processors[1]',
    );
    expect(tree).toEqual({
      __errors: ['bad section'],
      condition: { __errors: ['unknown column `nme`', 'second'] },
      auth: { token: { __errors: ['unset ${TOKEN}'] } },
    });
  });
});

describe('cleanFormData', () => {
  it('leaves out undefined values and new empty ones, keeps existing ones', () => {
    const before = { path: 'a.csv', columns: [] };
    expect(cleanFormData({ path: 'a.csv', columns: [], storage: {}, schema: { a: undefined }, note: '', has_header: undefined }, before)).toEqual({
      path: 'a.csv',
      columns: [],
    });
    expect(cleanFormData({ path: 'b.csv', has_header: false, infer_rows: 0 }, before)).toEqual({ path: 'b.csv', has_header: false, infer_rows: 0 });
    expect(cleanFormData(undefined, before)).toEqual({});
    expect(cleanFormData({ path: 'a.csv', columns: [], metadata: [null] }, before)).toEqual({ path: 'a.csv', columns: [] });
  });
});

describe('exampleOptions', () => {
  it("reads a plugin's example without its type", () => {
    expect(exampleOptions('type: filter\ncondition: "amount > 100"\nmode: include\n', 'filter')).toEqual({ condition: 'amount > 100', mode: 'include' });
    expect(exampleOptions('type: route\nroutes:\n  big: amount >= 1000\n', 'route')).toEqual({});
    expect(exampleOptions('{broken', 'x')).toEqual({});
    expect(exampleOptions('', 'x')).toEqual({});
  });
});

describe('layoutGraph', () => {
  it('puts inputs, each processor and the outputs in columns left to right', () => {
    const g = yamlToGraph(`inputs:
  a: {type: csv, path: a.csv}
  b: {type: csv, path: b.csv}
pipeline:
  processors:
    - {type: sql, query: SELECT * FROM a}
    - {type: route, routes: {x: "true"}}
outputs:
  x: {type: csv, path: x.csv}
dead_letter: {type: json, path: bad.json}
`);
    const at = layoutGraph(g);
    expect(at.get('inputs.a')!.x).toBe(0);
    expect(at.get('inputs.b')!.x).toBe(0);
    expect(at.get('inputs.a')!.y).toBe(-at.get('inputs.b')!.y);
    expect(at.get('pipeline.processors[0]')).toEqual({ x: COLUMN_WIDTH, y: 0 });
    expect(at.get('pipeline.processors[1]')).toEqual({ x: 2 * COLUMN_WIDTH, y: 0 });
    expect(at.get('outputs.x')!.x).toBe(3 * COLUMN_WIDTH);
    expect(at.get('dead_letter')!.x).toBe(3 * COLUMN_WIDTH);
    expect(at.get('dead_letter')!.y).toBeGreaterThan(at.get('outputs.x')!.y);
  });

  it('puts the outputs next to the inputs without processors', () => {
    const at = layoutGraph(yamlToGraph('input: {type: csv, path: a}\noutput: {type: console}\n'));
    expect(at.get('output')).toEqual({ x: COLUMN_WIDTH, y: 0 });
  });
});
