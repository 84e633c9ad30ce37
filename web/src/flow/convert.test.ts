// Unit tests of the YAML ↔ graph conversion and the designer's edits, on the shapes of
// the jobs in examples/*.yaml and docs/reference.md.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  addNode,
  branchEdgeId,
  connectBranch,
  disconnectBranch,
  moveProcessor,
  nodeIdForProblem,
  optionPath,
  problemsByNode,
  processorId,
  processorIndex,
  removeNode,
  renameNode,
  setNodeOptions,
  yamlToGraph,
} from './convert';
import type { EditResult, FlowGraph } from './convert';

// examples/csv_to_parquet.yaml
const CSV_TO_PARQUET = `# Paid orders over 100, renamed, written as Parquet.
#   fust run examples/csv_to_parquet.yaml
name: paid_orders
input:
  type: csv
  path: examples/data/orders.csv
  has_header: true
  delimiter: ","
pipeline:
  processors:
    - type: filter
      condition: "amount > 100 AND status = 'paid'"
    - type: mapping
      field_mappings: { cust_id: customer_id }
      fields: { amount_cents: "CAST(amount * 100 AS BIGINT)" }
      drop: [status]
output:
  type: parquet
  path: \${OUT_DIR:-out}/paid_orders.parquet
  compression: zstd
`;

// examples/biggest_order_per_customer.yaml
const BIGGEST_ORDERS = `# The processor catalog on the bundled data: each customer's biggest order, with the
# customer's country and masked name from a lookup, and the order's month.
#   fust run examples/biggest_order_per_customer.yaml
name: biggest_orders
inputs:
  input:
    type: csv
    path: examples/data/orders.csv
  customers:
    type: csv
    path: examples/data/customers.csv
pipeline:
  processors:
    - type: deduplicate
      key_columns: [cust_id]
      keep: last
      order_by: amount
    - type: enrich
      lookup: customers
      on: {cust_id: customer_id}
      columns: [name, country]
    - type: transform
      steps:
        - {op: date_format, column: order_date, format: '%Y-%m', as: month}
        - {op: mask, column: name, keep_last: 4}
        - {op: coalesce, column: country, default: '??'}
    - type: sql
      query: SELECT cust_id, order_id, amount, month, name, country FROM input ORDER BY cust_id
output:
  type: csv
  path: \${OUT_DIR:-out}/biggest_orders.csv
`;

// examples/join_customers.yaml
const JOIN_CUSTOMERS = `# Two named inputs joined in SQL: paid revenue per customer, biggest first.
#   fust run examples/join_customers.yaml
name: customer_totals
inputs:
  orders:
    type: csv
    path: examples/data/orders.csv
  customers:
    type: csv
    path: examples/data/customers.csv
pipeline:
  processors:
    - type: sql
      query: |
        SELECT c.name, c.country, count(*) AS orders, round(sum(o.amount), 2) AS paid
        FROM orders o JOIN customers c ON o.cust_id = c.customer_id
        WHERE o.status = 'paid'
        GROUP BY c.name, c.country
        ORDER BY paid DESC
output:
  type: csv
  path: \${OUT_DIR:-out}/customer_totals.csv
`;

// examples/csv_to_elasticsearch.yaml
const CSV_TO_ES = `# Every order as a document in Elasticsearch or OpenSearch, in one index per month of
# its order date (orders-2026.01, …), its id the order_id: running it again overwrites
# the same documents instead of adding copies.
#   ES_URL=http://127.0.0.1:9200 fust run examples/csv_to_elasticsearch.yaml
name: orders_to_elasticsearch
input:
  type: csv
  path: examples/data/orders.csv
output:
  type: elasticsearch
  url: \${ES_URL:-http://127.0.0.1:9200}
  index: orders-%Y.%m
  index_time_column: order_date
  id: order_id
  compression: gzip
  refresh: true
`;

// examples/kafka_to_postgres.yaml (a stream job, with settings after the output)
const KAFKA_TO_POSTGRES = `# A stream job: reads the Kafka topic \`orders\` into PostgreSQL, exactly once.
name: orders_kafka
input:
  type: kafka
  brokers: 127.0.0.1:9092
  topic: orders
  group_id: fust_orders_kafka
  start_from: earliest
  schema: {order_id: bigint, cust_id: bigint, amount: double, status: varchar, order_date: date}
  metadata: [partition, offset]
pipeline:
  processors:
    - type: filter
      condition: "status = 'paid'"
output:
  type: postgres
  url: postgres://postgres@127.0.0.1:5432/test
  table: paid_orders_kafka
settings:
  checkpoint_interval: 1s
  stop_when_idle: 3s
`;

// docs/reference.md, "Several outputs", with a dead-letter output and comments.
const ROUTED = `input: { type: csv, path: data/orders.csv }
pipeline:
  processors:
    - type: route                 # optional: without it, every output gets every record
      routes:
        big: "amount >= 1000"
        eu: "region = 'EU'"
      default: rest               # the records no route took
outputs:
  big:  { type: parquet, path: out/big.parquet }
  eu:   { type: csv, path: out/eu.csv }
  # everything else
  rest: { type: json, path: out/rest.json }
settings:
  on_error: dead_letter      # fail (default) | skip | dead_letter
dead_letter: {type: json, path: out/rejects.json}   # any output
`;

const EXAMPLES = {
  CSV_TO_PARQUET,
  BIGGEST_ORDERS,
  JOIN_CUSTOMERS,
  CSV_TO_ES,
  KAFKA_TO_POSTGRES,
  ROUTED,
};

/** The result's text, failing the test when the edit was refused. */
function ok(result: EditResult): string {
  expect(result.error).toBeUndefined();
  return result.text;
}

function ids(graph: FlowGraph): string[] {
  return graph.nodes.map((n) => n.id);
}

function edges(graph: FlowGraph): string[] {
  return graph.edges.map((e) => `${e.source} -> ${e.target}${e.kind === 'flow' ? '' : ` (${e.kind}: ${e.label})`}`);
}

/** The lines of `a` that `b` lacks, counted as a multiset. */
function linesGone(a: string, b: string): string[] {
  const left = b.split('\n');
  const gone: string[] = [];
  for (const line of a.split('\n')) {
    const at = left.indexOf(line);
    if (at >= 0) left.splice(at, 1);
    else gone.push(line);
  }
  return gone;
}

function comments(text: string): string[] {
  return text.split('\n').filter((l) => l.includes('#') && !l.includes("'%"));
}

function topKeys(text: string): string[] {
  return Object.keys(parse(text) as object);
}

describe('yamlToGraph', () => {
  it('chains input, processors in order, and output', () => {
    const g = yamlToGraph(CSV_TO_PARQUET);
    expect(g.error).toBeUndefined();
    expect(ids(g)).toEqual(['input', 'pipeline.processors[0]', 'pipeline.processors[1]', 'output']);
    expect(g.nodes.map((n) => n.plugin)).toEqual(['csv', 'filter', 'mapping', 'parquet']);
    expect(g.nodes.map((n) => n.role)).toEqual(['input', 'processor', 'processor', 'output']);
    expect(edges(g)).toEqual([
      'input -> pipeline.processors[0]',
      'pipeline.processors[0] -> pipeline.processors[1]',
      'pipeline.processors[1] -> output',
    ]);
  });

  it('gives each node its options without `type`', () => {
    const g = yamlToGraph(CSV_TO_PARQUET);
    expect(g.nodes[0].options).toEqual({ path: 'examples/data/orders.csv', has_header: true, delimiter: ',' });
    expect(g.nodes[2].options).toEqual({
      field_mappings: { cust_id: 'customer_id' },
      fields: { amount_cents: 'CAST(amount * 100 AS BIGINT)' },
      drop: ['status'],
    });
    expect(g.nodes[3].options.path).toBe('${OUT_DIR:-out}/paid_orders.parquet');
  });

  it('names inputs and outputs, numbers processors', () => {
    const g = yamlToGraph(BIGGEST_ORDERS);
    expect(ids(g)).toEqual([
      'inputs.input',
      'inputs.customers',
      'pipeline.processors[0]',
      'pipeline.processors[1]',
      'pipeline.processors[2]',
      'pipeline.processors[3]',
      'output',
    ]);
    expect(g.nodes.map((n) => n.name ?? n.index)).toEqual(['input', 'customers', 0, 1, 2, 3, 'output']);
  });

  it("draws a lookup input into the processor that names it", () => {
    const g = yamlToGraph(BIGGEST_ORDERS);
    expect(edges(g)).toContain('inputs.input -> pipeline.processors[0]');
    expect(edges(g)).toContain('inputs.customers -> pipeline.processors[1]');
    expect(edges(g)).not.toContain('inputs.customers -> pipeline.processors[0]');
  });

  it('draws every input a SQL query reads into it', () => {
    const g = yamlToGraph(JOIN_CUSTOMERS);
    expect(edges(g)).toEqual([
      'inputs.orders -> pipeline.processors[0]',
      'inputs.customers -> pipeline.processors[0]',
      'pipeline.processors[0] -> output',
    ]);
  });

  it('joins input and output directly without processors', () => {
    const g = yamlToGraph(CSV_TO_ES);
    expect(ids(g)).toEqual(['input', 'output']);
    expect(edges(g)).toEqual(['input -> output']);
  });

  it('draws route branches to the named outputs, and the dead-letter output apart', () => {
    const g = yamlToGraph(ROUTED);
    expect(ids(g)).toEqual(['input', 'pipeline.processors[0]', 'outputs.big', 'outputs.eu', 'outputs.rest', 'dead_letter']);
    expect(edges(g)).toEqual([
      'input -> pipeline.processors[0]',
      'pipeline.processors[0] -> outputs.big (route: amount >= 1000)',
      "pipeline.processors[0] -> outputs.eu (route: region = 'EU')",
      'pipeline.processors[0] -> outputs.rest (default: default)',
    ]);
    const dl = g.nodes.find((n) => n.id === 'dead_letter')!;
    expect(dl).toMatchObject({ role: 'output', deadLetter: true, plugin: 'json' });
    expect(g.edges.map((e) => e.id)).toContain(branchEdgeId('pipeline.processors[0]', 'outputs.rest', 'default'));
  });

  it('sends a route branch to `output:` by the name `output`', () => {
    const text = `input: {type: csv, path: a.csv}
pipeline:
  processors:
    - {type: route, routes: {output: "x > 1", side: "x <= 1"}}
output: {type: csv, path: o.csv}
outputs:
  side: {type: csv, path: s.csv}
`;
    expect(edges(yamlToGraph(text))).toEqual([
      'input -> pipeline.processors[0]',
      'pipeline.processors[0] -> output (route: x > 1)',
      'pipeline.processors[0] -> outputs.side (route: x <= 1)',
    ]);
  });

  it('skips route branches to outputs that do not exist', () => {
    const text = 'input: {type: csv, path: a.csv}\npipeline:\n  processors:\n    - {type: route, routes: {nowhere: "true"}}\noutputs:\n  a: {type: csv, path: o.csv}\n';
    expect(edges(yamlToGraph(text))).toEqual(['input -> pipeline.processors[0]']);
  });

  it('sends the last processor to every output when it is not a route', () => {
    const text = 'input: {type: csv, path: a.csv}\npipeline:\n  processors:\n    - {type: filter, condition: x > 1}\noutput: {type: csv, path: o.csv}\noutputs:\n  copy: {type: json, path: o.json}\n';
    expect(edges(yamlToGraph(text))).toEqual([
      'input -> pipeline.processors[0]',
      'pipeline.processors[0] -> output',
      'pipeline.processors[0] -> outputs.copy',
    ]);
  });

  it('keeps `input:` first beside `inputs:`', () => {
    const text = 'inputs:\n  countries: {type: csv, path: c.csv}\ninput: {type: csv, path: a.csv}\noutput: {type: console}\n';
    expect(ids(yamlToGraph(text))).toEqual(['input', 'inputs.countries', 'output']);
  });

  it('records the lines of each section', () => {
    const g = yamlToGraph(CSV_TO_PARQUET);
    expect(g.nodes[0].lines).toEqual([5, 8]);
    expect(g.nodes[1].lines).toEqual([11, 12]);
    expect(g.nodes[3].lines).toEqual([18, 20]);
  });

  it('reads a section without `type` as plugin ""', () => {
    const g = yamlToGraph('input:\n  path: a.csv\noutput: {type: console}\n');
    expect(g.nodes[0]).toMatchObject({ id: 'input', plugin: '', options: { path: 'a.csv' } });
  });

  it('reports invalid YAML with an empty graph', () => {
    const g = yamlToGraph('input: {type: csv\noutput: x\n');
    expect(g.nodes).toEqual([]);
    expect(g.edges).toEqual([]);
    expect(g.error).toMatch(/line|flow|collection/i);
  });

  it('reports a document that is not a mapping', () => {
    expect(yamlToGraph('- a\n- b\n').error).toMatch(/mapping/);
  });

  it('reads empty text as an empty graph', () => {
    expect(yamlToGraph('')).toEqual({ nodes: [], edges: [] });
    expect(yamlToGraph('# only a comment\n')).toEqual({ nodes: [], edges: [] });
  });

  it('parses every example', () => {
    for (const [name, text] of Object.entries(EXAMPLES)) {
      const g = yamlToGraph(text);
      expect(g.error, name).toBeUndefined();
      expect(g.nodes.length, name).toBeGreaterThan(1);
    }
  });
});

describe('building a job with the edits', () => {
  it('gives the same job as written by hand, for every example', () => {
    for (const [name, source] of Object.entries(EXAMPLES)) {
      let text = '';
      for (const node of yamlToGraph(source).nodes) {
        if (node.deadLetter) continue;
        const named = node.id.includes('.') && node.role !== 'processor';
        text = ok(addNode(text, node.role, node.plugin, { options: node.options, name: named ? node.name : undefined }));
      }
      // The job's name and settings are not part of its flow.
      const want = parse(source);
      for (const key of ['name', 'settings', 'dead_letter']) delete want[key];
      expect(parse(text), name).toEqual(want);
      expect(edges(yamlToGraph(text)), name).toEqual(edges(yamlToGraph(source)).filter((e) => !e.includes('dead_letter')));
    }
  });
});

describe('processor ids', () => {
  it('round-trip an index', () => {
    expect(processorId(3)).toBe('pipeline.processors[3]');
    expect(processorIndex('pipeline.processors[3]')).toBe(3);
    expect(processorIndex('pipeline.processors[3].condition')).toBeUndefined();
    expect(processorIndex('outputs.big')).toBeUndefined();
  });
});

describe('problems', () => {
  const g = yamlToGraph(BIGGEST_ORDERS);

  it('map to the node their key starts with', () => {
    expect(nodeIdForProblem({ key: 'pipeline.processors[1].lookup', message: 'm' }, g.nodes)).toBe('pipeline.processors[1]');
    expect(nodeIdForProblem({ key: 'pipeline.processors[1]', message: 'm' }, g.nodes)).toBe('pipeline.processors[1]');
    expect(nodeIdForProblem({ key: 'inputs.customers.path', message: 'm' }, g.nodes)).toBe('inputs.customers');
    expect(nodeIdForProblem({ key: 'output.type', message: 'm' }, g.nodes)).toBe('output');
    expect(nodeIdForProblem({ key: 'pipeline.processors[2].steps[1].keep_last', message: 'm' }, g.nodes)).toBe('pipeline.processors[2]');
  });

  it('do not map by a prefix that is not a whole key', () => {
    const nodes = yamlToGraph('input: {type: csv, path: a}\noutputs:\n  big: {type: csv, path: b}\n  bigger: {type: csv, path: c}\n').nodes;
    expect(nodeIdForProblem({ key: 'outputs.bigger.path', message: 'm' }, nodes)).toBe('outputs.bigger');
    expect(nodeIdForProblem({ key: 'pipeline.processors[10]', message: 'm' }, yamlToGraph(BIGGEST_ORDERS).nodes)).toBeUndefined();
  });

  it('fall back to the section holding their line', () => {
    expect(nodeIdForProblem({ key: 'pipeline', message: 'm', line: 19 }, g.nodes)).toBe('pipeline.processors[1]');
  });

  it('of the job as a whole belong to no node', () => {
    expect(nodeIdForProblem({ key: 'settings.batch_size', message: 'm', line: 6 }, g.nodes)).toBeUndefined();
    expect(nodeIdForProblem({ key: 'inptu', message: 'm', line: 1 }, g.nodes)).toBeUndefined();
    expect(nodeIdForProblem({ key: '', message: 'empty' }, g.nodes)).toBeUndefined();
  });

  it('group by node', () => {
    const problems = [
      { key: 'pipeline.processors[0].key_columns', message: 'a' },
      { key: 'pipeline.processors[0].keep', message: 'b' },
      { key: 'output.path', message: 'c' },
      { key: 'settings.memory_limit', message: 'd' },
    ];
    const { byNode, other } = problemsByNode(problems, g.nodes);
    expect(byNode.get('pipeline.processors[0]')?.map((p) => p.message)).toEqual(['a', 'b']);
    expect(byNode.get('output')?.map((p) => p.message)).toEqual(['c']);
    expect(other.map((p) => p.message)).toEqual(['d']);
  });

  it("name the option below the node", () => {
    expect(optionPath('pipeline.processors[1].auth.token', 'pipeline.processors[1]')).toEqual(['auth', 'token']);
    expect(optionPath('pipeline.processors[2].steps[1].op', 'pipeline.processors[2]')).toEqual(['steps', '1', 'op']);
    expect(optionPath('output', 'output')).toEqual([]);
  });

  it('follow a processor after it moved', () => {
    const moved = ok(moveProcessor(BIGGEST_ORDERS, 1, 3));
    const nodes = yamlToGraph(moved).nodes;
    expect(nodes.find((n) => n.id === nodeIdForProblem({ key: 'pipeline.processors[3].lookup', message: 'm' }, nodes))?.plugin).toBe('enrich');
  });
});

describe('addNode', () => {
  it('appends a processor and keeps everything else as it was', () => {
    const r = addNode(CSV_TO_PARQUET, 'processor', 'sql', { options: { query: 'SELECT * FROM input' } });
    const text = ok(r);
    expect(r.nodeId).toBe('pipeline.processors[2]');
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual([]);
    expect(text).toContain('    - type: sql\n      query: SELECT * FROM input\n');
    expect(yamlToGraph(text).nodes[3]).toMatchObject({ plugin: 'sql', options: { query: 'SELECT * FROM input' } });
  });

  it('inserts a processor after an index, or first', () => {
    const second = ok(addNode(CSV_TO_PARQUET, 'processor', 'deduplicate', { afterIndex: 0 }));
    expect(yamlToGraph(second).nodes.map((n) => n.plugin)).toEqual(['csv', 'filter', 'deduplicate', 'mapping', 'parquet']);
    const first = addNode(CSV_TO_PARQUET, 'processor', 'deduplicate', { afterIndex: -1 });
    expect(first.nodeId).toBe('pipeline.processors[0]');
    expect(yamlToGraph(ok(first)).nodes.map((n) => n.plugin)).toEqual(['csv', 'deduplicate', 'filter', 'mapping', 'parquet']);
  });

  it('puts a new processor before a trailing route', () => {
    const r = addNode(ROUTED, 'processor', 'filter', { options: { condition: 'amount > 0' } });
    expect(r.nodeId).toBe('pipeline.processors[0]');
    const g = yamlToGraph(ok(r));
    expect(g.nodes.filter((n) => n.role === 'processor').map((n) => n.plugin)).toEqual(['filter', 'route']);
    expect(edges(g)).toContain('pipeline.processors[1] -> outputs.big (route: amount >= 1000)');
  });

  it('creates `pipeline:` where a job without one has it, before the output', () => {
    const text = ok(addNode(CSV_TO_ES, 'processor', 'filter', { options: { condition: "status = 'paid'" } }));
    expect(topKeys(text)).toEqual(['name', 'input', 'pipeline', 'output']);
    expect(linesGone(CSV_TO_ES, text)).toEqual([]);
    expect(text).toContain('pipeline:\n  processors:\n    - type: filter\n      condition: status = \'paid\'\noutput:');
  });

  it('adds a second input under `inputs:` with a fresh name', () => {
    const r = addNode(CSV_TO_PARQUET, 'input', 'csv', { options: { path: 'data/countries.csv' } });
    expect(r.nodeId).toBe('inputs.csv');
    const text = ok(r);
    expect(topKeys(text)).toEqual(['name', 'input', 'inputs', 'pipeline', 'output']);
    const again = addNode(text, 'input', 'csv');
    expect(again.nodeId).toBe('inputs.csv_2');
    expect(ids(yamlToGraph(ok(again))).filter((id) => id.startsWith('input'))).toEqual(['input', 'inputs.csv', 'inputs.csv_2']);
  });

  it('adds an input with a given name to existing `inputs:`', () => {
    const r = addNode(JOIN_CUSTOMERS, 'input', 'parquet', { name: 'archive', options: { path: 'old.parquet' } });
    expect(r.nodeId).toBe('inputs.archive');
    const text = ok(r);
    expect(linesGone(JOIN_CUSTOMERS, text)).toEqual([]);
    expect(text).toContain('  archive:\n    type: parquet\n    path: old.parquet\npipeline:');
  });

  it('refuses a name that is taken or not an identifier', () => {
    const taken = addNode(JOIN_CUSTOMERS, 'input', 'csv', { name: 'orders' });
    expect(taken.error).toMatch(/already.*orders/);
    expect(taken.text).toBe(JOIN_CUSTOMERS);
    expect(addNode(JOIN_CUSTOMERS, 'input', 'csv', { name: '2x' }).error).toMatch(/identifier/);
    expect(addNode(CSV_TO_PARQUET, 'input', 'csv', { name: 'input' }).error).toMatch(/already/);
  });

  it('adds outputs to `outputs:`, and a first output as `output:`', () => {
    const r = addNode(ROUTED, 'output', 'parquet', { name: 'us' });
    expect(r.nodeId).toBe('outputs.us');
    expect(linesGone(ROUTED, ok(r))).toEqual([]);
    const none = 'input: {type: csv, path: a.csv}\n';
    const first = addNode(none, 'output', 'console');
    expect(first.nodeId).toBe('output');
    expect(ok(first)).toBe('input: {type: csv, path: a.csv}\noutput:\n  type: console\n');
  });

  it('builds a whole job from empty text', () => {
    let text = ok(addNode('', 'output', 'csv', { options: { path: 'out.csv' } }));
    text = ok(addNode(text, 'input', 'csv', { options: { path: 'in.csv' } }));
    text = ok(addNode(text, 'processor', 'filter', { options: { condition: 'x > 1' } }));
    expect(text).toBe(
      'input:\n  type: csv\n  path: in.csv\npipeline:\n  processors:\n    - type: filter\n      condition: x > 1\noutput:\n  type: csv\n  path: out.csv\n',
    );
    expect(edges(yamlToGraph(text))).toEqual(['input -> pipeline.processors[0]', 'pipeline.processors[0] -> output']);
  });

  it('keeps the header comment of a job it adds to', () => {
    const text = ok(addNode('# my job\ninput: {type: csv, path: a.csv}\n', 'output', 'console'));
    expect(text.startsWith('# my job\n')).toBe(true);
  });
});

describe('removeNode', () => {
  it('removes a processor and only its lines', () => {
    const text = ok(removeNode(CSV_TO_PARQUET, 'pipeline.processors[0]'));
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual(['    - type: filter', `      condition: "amount > 100 AND status = 'paid'"`]);
    expect(ids(yamlToGraph(text))).toEqual(['input', 'pipeline.processors[0]', 'output']);
  });

  it("takes a processor's own comment with it and leaves the others", () => {
    const text = `input: {type: csv, path: a.csv}
pipeline:
  processors:
    # drop the test rows
    - {type: filter, condition: "id > 0"}
    # keep EU only
    - {type: filter, condition: "region = 'EU'"}
output: {type: csv, path: b.csv}  # the result
`;
    const out = ok(removeNode(text, 'pipeline.processors[0]'));
    expect(out).not.toContain('drop the test rows');
    expect(out).toContain('    # keep EU only\n');
    expect(out).toContain('output: {type: csv, path: b.csv}  # the result\n');
  });

  it('removes an emptied pipeline', () => {
    const text = ok(removeNode(KAFKA_TO_POSTGRES, 'pipeline.processors[0]'));
    expect(topKeys(text)).toEqual(['name', 'input', 'output', 'settings']);
    expect(edges(yamlToGraph(text))).toEqual(['input -> output']);
  });

  it('removes a named input and an emptied `inputs:`', () => {
    const once = ok(removeNode(JOIN_CUSTOMERS, 'inputs.customers'));
    expect(ids(yamlToGraph(once))).toEqual(['inputs.orders', 'pipeline.processors[0]', 'output']);
    const twice = ok(removeNode(once, 'inputs.orders'));
    expect(topKeys(twice)).toEqual(['name', 'pipeline', 'output']);
  });

  it('removes an output and the route branches to it', () => {
    const text = ok(removeNode(ROUTED, 'outputs.rest'));
    expect(text).not.toContain('default: rest');
    expect(text).not.toContain('# everything else');
    expect(edges(yamlToGraph(text))).toEqual([
      'input -> pipeline.processors[0]',
      'pipeline.processors[0] -> outputs.big (route: amount >= 1000)',
      "pipeline.processors[0] -> outputs.eu (route: region = 'EU')",
    ]);
    const big = ok(removeNode(ROUTED, 'outputs.big'));
    expect(big).not.toContain('big');
    expect(big).toContain('      default: rest               # the records no route took\n');
  });

  it('removes the dead-letter output and `input:`', () => {
    expect(ok(removeNode(ROUTED, 'dead_letter'))).not.toContain('rejects');
    expect(topKeys(ok(removeNode(CSV_TO_ES, 'input')))).toEqual(['name', 'output']);
  });

  it('refuses an unknown node', () => {
    expect(removeNode(ROUTED, 'outputs.nope')).toEqual({ text: ROUTED, error: 'there is no node `outputs.nope`' });
    expect(removeNode(ROUTED, 'pipeline.processors[4]').error).toMatch(/no node/);
    expect(removeNode(ROUTED, 'settings').error).toMatch(/no node/);
  });
});

describe('moveProcessor', () => {
  it('reorders processors and moves their lines whole', () => {
    const r = moveProcessor(BIGGEST_ORDERS, 0, 2);
    const text = ok(r);
    expect(r.nodeId).toBe('pipeline.processors[2]');
    expect(yamlToGraph(text).nodes.filter((n) => n.role === 'processor').map((n) => n.plugin)).toEqual([
      'enrich',
      'transform',
      'deduplicate',
      'sql',
    ]);
    expect(linesGone(BIGGEST_ORDERS, text)).toEqual([]);
    expect(text.split('\n').length).toBe(BIGGEST_ORDERS.split('\n').length);
  });

  it("moves a processor's comment with it", () => {
    const text = `input: {type: csv, path: a.csv}
pipeline:
  processors:
    # first, as written
    - type: filter
      condition: "id > 0"   # positive ids
    - type: sql
      query: SELECT * FROM input
output: {type: csv, path: b.csv}
`;
    const out = ok(moveProcessor(text, 0, 1));
    expect(out).toBe(`input: {type: csv, path: a.csv}
pipeline:
  processors:
    - type: sql
      query: SELECT * FROM input
    # first, as written
    - type: filter
      condition: "id > 0"   # positive ids
output: {type: csv, path: b.csv}
`);
  });

  it('clamps the target and refuses a missing processor', () => {
    expect(moveProcessor(CSV_TO_PARQUET, 0, 9).nodeId).toBe('pipeline.processors[1]');
    expect(moveProcessor(CSV_TO_PARQUET, 5, 0).error).toMatch(/no processor 5/);
    expect(moveProcessor(CSV_TO_ES, 0, 1).error).toMatch(/no processor/);
  });

  it('leaves the text alone when nothing moves', () => {
    expect(moveProcessor(CSV_TO_PARQUET, 1, 1)).toEqual({ text: CSV_TO_PARQUET, nodeId: 'pipeline.processors[1]' });
  });
});

describe('setNodeOptions', () => {
  it('changes one value in place and nothing else', () => {
    const g = yamlToGraph(CSV_TO_PARQUET);
    const text = ok(setNodeOptions(CSV_TO_PARQUET, 'output', { ...g.nodes[3].options, compression: 'snappy' }));
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual(['  compression: zstd']);
    expect(text).toContain('  compression: snappy\n');
  });

  it('keeps the comment on a changed value and the quoting of the others', () => {
    const text = ok(setNodeOptions(ROUTED, 'pipeline.processors[0]', {
      routes: { big: 'amount >= 5000', eu: "region = 'EU'" },
      default: 'rest',
    }));
    expect(linesGone(ROUTED, text)).toEqual(['        big: "amount >= 1000"']);
    expect(text).toContain('        big: "amount >= 5000"\n');
    expect(text).toContain('      default: rest               # the records no route took\n');
  });

  it('appends a new option and removes a missing one, keeping key order', () => {
    const options = { ...yamlToGraph(CSV_TO_PARQUET).nodes[0].options } as Record<string, unknown>;
    delete options.has_header;
    options.infer_rows = 5000;
    const text = ok(setNodeOptions(CSV_TO_PARQUET, 'input', options));
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual(['  has_header: true']);
    expect(text).toContain('  delimiter: ","\n  infer_rows: 5000\npipeline:');
    expect(Object.keys(parse(text).input)).toEqual(['type', 'path', 'delimiter', 'infer_rows']);
  });

  it('treats undefined as absent', () => {
    const text = ok(setNodeOptions(CSV_TO_PARQUET, 'output', { path: '${OUT_DIR:-out}/paid_orders.parquet', compression: undefined }));
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual(['  compression: zstd']);
  });

  it('merges nested mappings and keeps their flow style', () => {
    const g = yamlToGraph(BIGGEST_ORDERS);
    const enrich = g.nodes.find((n) => n.id === 'pipeline.processors[1]')!;
    const text = ok(setNodeOptions(BIGGEST_ORDERS, enrich.id, { ...enrich.options, on: { cust_id: 'customer_id', region: 'region' } }));
    expect(linesGone(BIGGEST_ORDERS, text)).toEqual(['      on: {cust_id: customer_id}']);
    expect(text).toContain('      on: {cust_id: customer_id, region: region}\n');
  });

  it('replaces a changed list in its own style', () => {
    const g = yamlToGraph(CSV_TO_PARQUET);
    const text = ok(setNodeOptions(CSV_TO_PARQUET, 'pipeline.processors[1]', { ...g.nodes[2].options, drop: ['status', 'note'] }));
    expect(linesGone(CSV_TO_PARQUET, text)).toEqual(['      drop: [status]']);
    expect(text).toContain('      drop: [status, note]\n');
    expect(text).toContain('      field_mappings: { cust_id: customer_id }\n');
  });

  it('returns the text itself when the options are unchanged', () => {
    for (const [name, source] of Object.entries(EXAMPLES)) {
      for (const node of yamlToGraph(source).nodes) {
        expect(setNodeOptions(source, node.id, node.options).text, `${name} ${node.id}`).toBe(source);
      }
    }
  });

  it('keeps a `type` the options do not name, and ${VAR} values', () => {
    const text = ok(setNodeOptions(CSV_TO_ES, 'output', { ...yamlToGraph(CSV_TO_ES).nodes[1].options, refresh: false }));
    expect(text).toContain('  type: elasticsearch\n  url: ${ES_URL:-http://127.0.0.1:9200}\n');
    expect(linesGone(CSV_TO_ES, text)).toEqual(['  refresh: true']);
  });

  it('keeps a block literal and long lines unfolded', () => {
    const g = yamlToGraph(JOIN_CUSTOMERS);
    const long = 'x'.repeat(200);
    const text = ok(setNodeOptions(JOIN_CUSTOMERS, 'output', { ...g.nodes[3].options, path: `out/${long}.csv` }));
    expect(text).toContain(`  path: out/${long}.csv\n`);
    expect(text).toContain('      query: |\n        SELECT c.name');
    expect(linesGone(JOIN_CUSTOMERS, text)).toEqual(['  path: ${OUT_DIR:-out}/customer_totals.csv']);
  });

  it('quotes a new value when it has to', () => {
    const text = ok(setNodeOptions(KAFKA_TO_POSTGRES, 'pipeline.processors[0]', { condition: 'note = \'a: b #1\'' }));
    expect(parse(text).pipeline.processors[0].condition).toBe("note = 'a: b #1'");
  });

  it('keeps strings strings when they look like other types', () => {
    for (const value of ['123', 'true', 'null', '1e3', '0x10', 'a ', ' a', '- a', '@x', "it's", '"q"', 'a: b', '#x', '', '~']) {
      const text = ok(setNodeOptions(CSV_TO_PARQUET, 'output', { path: value, compression: 'zstd' }));
      expect(parse(text).output.path, JSON.stringify(value)).toBe(value);
    }
  });

  it('writes numbers, booleans, null, lists and mappings as such', () => {
    const options = { path: 'x', n: 5, f: 1.5, b: false, z: null, l: [1, 'a'], m: { k: 'v' } };
    const text = ok(setNodeOptions(CSV_TO_PARQUET, 'output', options));
    expect(parse(text).output).toEqual({ type: 'parquet', ...options });
  });

  it('refuses a section that is not a mapping', () => {
    expect(setNodeOptions('input: csv\noutput: {type: console}\n', 'input', {}).error).toMatch(/not a mapping/);
  });
});

describe('route branches', () => {
  const withUs = ok(addNode(ROUTED, 'output', 'csv', { name: 'us', options: { path: 'out/us.csv' } }));

  it('connect a route to an output with a condition', () => {
    const text = ok(connectBranch(withUs, 'pipeline.processors[0]', 'outputs.us', { condition: "region = 'US'" }));
    expect(text).toContain(`        eu: "region = 'EU'"\n        us: region = 'US'\n      default: rest`);
    expect(edges(yamlToGraph(text))).toContain("pipeline.processors[0] -> outputs.us (route: region = 'US')");
    expect(linesGone(withUs, text)).toEqual([]);
  });

  it("connect with the condition `true` when none is given, keeping an existing one", () => {
    const text = ok(connectBranch(withUs, 'pipeline.processors[0]', 'outputs.us'));
    expect(parse(text).pipeline.processors[0].routes.us).toBe('true');
    expect(connectBranch(ROUTED, 'pipeline.processors[0]', 'outputs.big').text).toBe(ROUTED);
  });

  it('set the default output', () => {
    const text = ok(connectBranch(withUs, 'pipeline.processors[0]', 'outputs.us', { default: true }));
    expect(linesGone(withUs, text)).toEqual(['      default: rest               # the records no route took']);
    const line = text.split('\n').find((l) => l.startsWith('      default:'))!;
    expect(line).toMatch(/^ {6}default: us +# the records no route took$/);
    expect(line.indexOf('#')).toBe(ROUTED.split('\n').find((l) => l.startsWith('      default:'))!.indexOf('#'));
  });

  it('create `routes:` before `default:` in a route without branches', () => {
    const text = 'input: {type: csv, path: a.csv}\npipeline:\n  processors:\n    - type: route\n      default: b\noutputs:\n  a: {type: csv, path: a.csv}\n  b: {type: csv, path: b.csv}\n';
    const out = ok(connectBranch(text, 'pipeline.processors[0]', 'outputs.a', { condition: 'x > 1' }));
    expect(out).toContain('    - type: route\n      routes:\n        a: x > 1\n      default: b\n');
  });

  it('disconnect a branch, its default, or both', () => {
    const route = 'pipeline.processors[0]';
    const noEu = ok(disconnectBranch(ROUTED, route, 'outputs.eu'));
    expect(linesGone(ROUTED, noEu)).toEqual([`        eu: "region = 'EU'"`]);
    const noDefault = ok(disconnectBranch(ROUTED, route, 'outputs.rest', 'default'));
    expect(linesGone(ROUTED, noDefault)).toEqual(['      default: rest               # the records no route took']);
    expect(disconnectBranch(ROUTED, route, 'outputs.rest', 'route').text).toBe(ROUTED);
    const both = ok(connectBranch(ROUTED, route, 'outputs.big', { default: true }));
    const neither = ok(disconnectBranch(both, route, 'outputs.big'));
    expect(edges(yamlToGraph(neither))).toEqual(['input -> pipeline.processors[0]', "pipeline.processors[0] -> outputs.eu (route: region = 'EU')"]);
  });

  it('refuse what is not a route or not an output', () => {
    expect(connectBranch(CSV_TO_PARQUET, 'pipeline.processors[0]', 'output').error).toMatch(/not a route/);
    expect(connectBranch(ROUTED, 'pipeline.processors[0]', 'dead_letter').error).toMatch(/not an output/);
    expect(connectBranch(ROUTED, 'pipeline.processors[0]', 'input').error).toMatch(/not an output/);
    expect(connectBranch(ROUTED, 'pipeline.processors[0]', 'outputs.zz').error).toMatch(/no node/);
  });
});

describe('renameNode', () => {
  it('renames an output in place and the branches to it', () => {
    const r = renameNode(ROUTED, 'outputs.rest', 'others');
    const text = ok(r);
    expect(r.nodeId).toBe('outputs.others');
    expect(linesGone(ROUTED, text)).toEqual([
      '      default: rest               # the records no route took',
      '  rest: { type: json, path: out/rest.json }',
    ]);
    expect(text).toContain('  # everything else\n  others: { type: json, path: out/rest.json }\n');
    expect(edges(yamlToGraph(text))).toContain('pipeline.processors[0] -> outputs.others (default: default)');
    const big = ok(renameNode(ROUTED, 'outputs.big', 'large'));
    expect(big).toContain('        large: "amount >= 1000"\n');
  });

  it('renames an input and the lookups naming it', () => {
    const text = ok(renameNode(BIGGEST_ORDERS, 'inputs.customers', 'people'));
    expect(text).toContain('      lookup: people\n');
    expect(edges(yamlToGraph(text))).toContain('inputs.people -> pipeline.processors[1]');
    const union = 'inputs:\n  input: {type: csv, path: a.csv}\n  old: {type: csv, path: b.csv}\npipeline:\n  processors:\n    - {type: union, inputs: [old]}\noutput: {type: console}\n';
    expect(ok(renameNode(union, 'inputs.old', 'archive'))).toContain('{type: union, inputs: [archive]}');
  });

  it('refuses `input:`, taken and invalid names', () => {
    expect(renameNode(CSV_TO_PARQUET, 'input', 'x').error).toMatch(/only sections under/);
    expect(renameNode(ROUTED, 'outputs.rest', 'big').error).toMatch(/already/);
    expect(renameNode(ROUTED, 'outputs.rest', 'a-b').error).toMatch(/identifier/);
    expect(renameNode(ROUTED, 'outputs.rest', 'rest').text).toBe(ROUTED);
  });
});

describe('edits of invalid YAML', () => {
  const broken = 'input: {type: csv\npipeline:\n  processors: [\n';
  it('return the text unchanged with an error', () => {
    const results = [
      addNode(broken, 'processor', 'filter'),
      removeNode(broken, 'input'),
      moveProcessor(broken, 0, 1),
      setNodeOptions(broken, 'input', {}),
      connectBranch(broken, 'pipeline.processors[0]', 'output'),
      disconnectBranch(broken, 'pipeline.processors[0]', 'output'),
      renameNode(broken, 'inputs.a', 'b'),
    ];
    for (const r of results) {
      expect(r.text).toBe(broken);
      expect(r.error).toBeTruthy();
    }
  });

  it('refuse a document that is not a mapping', () => {
    expect(addNode('- a\n', 'input', 'csv')).toEqual({ text: '- a\n', error: 'a job file must be a mapping with `input` and `output`' });
  });
});

describe('formatting', () => {
  it('keeps tight flow collections on untouched lines', () => {
    const text = ok(removeNode(BIGGEST_ORDERS, 'pipeline.processors[3]'));
    expect(text).toContain('      key_columns: [cust_id]\n');
    expect(text).toContain("        - {op: date_format, column: order_date, format: '%Y-%m', as: month}\n");
    expect(linesGone(BIGGEST_ORDERS, text)).toEqual([
      '    - type: sql',
      '      query: SELECT cust_id, order_id, amount, month, name, country FROM input ORDER BY cust_id',
    ]);
  });

  it('keeps the spacing before comments and after keys', () => {
    const text = ok(removeNode(ROUTED, 'outputs.eu'));
    expect(text).toContain('  big:  { type: parquet, path: out/big.parquet }\n');
    expect(text).toContain('  on_error: dead_letter      # fail (default) | skip | dead_letter\n');
    expect(text).toContain('dead_letter: {type: json, path: out/rejects.json}   # any output\n');
  });

  it('keeps every comment through a sequence of edits', () => {
    let text = BIGGEST_ORDERS;
    text = ok(addNode(text, 'processor', 'filter', { afterIndex: 0, options: { condition: 'amount > 0' } }));
    text = ok(moveProcessor(text, 4, 0));
    text = ok(setNodeOptions(text, 'inputs.customers', { path: 'examples/data/customers.csv', has_header: true }));
    text = ok(addNode(text, 'output', 'json', { options: { path: 'out/copy.json' } }));
    text = ok(removeNode(text, 'outputs.json'));
    expect(comments(text)).toEqual(comments(BIGGEST_ORDERS));
    expect(topKeys(text)).toEqual(topKeys(BIGGEST_ORDERS));
  });

  it('follows a file with sequences flush under their key', () => {
    const text = 'input:\n  type: csv\n  path: a.csv\npipeline:\n  processors:\n  - type: filter\n    condition: x > 1\noutput:\n  type: console\n';
    const out = ok(addNode(text, 'processor', 'sql', { options: { query: 'SELECT 1' } }));
    expect(out).toBe(text.replace('output:', '  - type: sql\n    query: SELECT 1\noutput:'));
  });

  it('follows a file indented by four spaces', () => {
    const text = 'input:\n    type: csv\n    path: a.csv\noutput:\n    type: console\n';
    const out = ok(addNode(text, 'processor', 'sql', { options: { query: 'SELECT 1' } }));
    expect(out).toBe(text.replace('output:', 'pipeline:\n    processors:\n        - type: sql\n          query: SELECT 1\noutput:'));
  });

  it('takes the comment above the first processor or output with it', () => {
    const text = 'input: {type: csv, path: a.csv}\npipeline:\n  processors:\n    # first\n    - {type: filter, condition: x > 1}\n    - {type: sql, query: SELECT 1}\noutputs:\n  # the main one\n  a: {type: csv, path: a.csv}\n  b: {type: csv, path: b.csv}\n';
    const moved = ok(moveProcessor(text, 0, 1));
    expect(moved).toContain('    - {type: sql, query: SELECT 1}\n    # first\n    - {type: filter, condition: x > 1}\n');
    expect(ok(removeNode(text, 'outputs.a'))).toContain('outputs:\n  b: {type: csv, path: b.csv}\n');
    expect(ok(removeNode(text, 'outputs.b'))).toContain('outputs:\n  # the main one\n  a: {type: csv, path: a.csv}\n');
    const first = ok(addNode(text, 'processor', 'sql', { afterIndex: -1, options: { query: 'SELECT 2' } }));
    expect(first).toContain('  processors:\n    - type: sql\n      query: SELECT 2\n    # first\n    - {type: filter');
  });

  it('reads back every edit of every example as the graph it meant', () => {
    for (const [name, source] of Object.entries(EXAMPLES)) {
      for (const node of yamlToGraph(source).nodes) {
        const text = ok(removeNode(source, node.id));
        const after = yamlToGraph(text);
        expect(after.error, name).toBeUndefined();
        expect(after.nodes.length, `${name} without ${node.id}`).toBe(yamlToGraph(source).nodes.length - 1);
      }
    }
  });
});
