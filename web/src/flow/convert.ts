// A job's YAML as a graph (inputs → processors → outputs) and the designer's edits as
// functions from YAML text to YAML text. Pure: no React. The edits work on the `yaml`
// package's Document, so comments, key order and quoting in untouched parts survive.
import {
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from 'yaml';
import type { Document, Pair } from 'yaml';

/** Where a node sits in the flow. */
export type FlowRole = 'input' | 'processor' | 'output';

/** One plugin section of the job. */
export interface FlowNode {
  /**
   * The section's path in the job file, the same the server's problems use:
   * `input`, `inputs.orders`, `pipeline.processors[2]`, `output`, `outputs.errors`,
   * `dead_letter`.
   */
  id: string;
  role: FlowRole;
  /** The section's `type:` (`''` when it has none). */
  plugin: string;
  /** An input's or output's name (`input`, `orders`, `output`, `errors`, `dead_letter`). */
  name?: string;
  /** A processor's position in `pipeline.processors`. */
  index?: number;
  /** True for the `dead_letter:` output (bad records go there, not the pipeline's rows). */
  deadLetter?: boolean;
  /** The section without `type`, as plain values. */
  options: Record<string, unknown>;
  /** The section's first and last line in the text (1-based). */
  lines: [number, number];
}

/** `flow`: rows move from one node to the next; `route`/`default`: a route's branch. */
export type FlowEdgeKind = 'flow' | 'route' | 'default';

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  kind: FlowEdgeKind;
  /** A route branch's condition, or `default`. */
  label?: string;
}

export interface FlowGraph {
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** Why the text could not be read as a job (the graph is then empty). */
  error?: string;
}

/** The result of an edit: the new text, or the old one and why the edit was refused. */
export interface EditResult {
  text: string;
  error?: string;
  /** The id of the node the edit created or moved, for selecting it. */
  nodeId?: string;
}

/** A problem as the server reports it (`key` like `pipeline.processors[1].condition`). */
export interface ProblemLike {
  key: string;
  message: string;
  line?: number | null;
  column?: number | null;
}

/** The job file's top-level keys, in the order a new one is inserted among them. */
const TOP_KEYS = [
  'name',
  'description',
  'input',
  'inputs',
  'pipeline',
  'output',
  'outputs',
  'dead_letter',
  'settings',
  'schedule',
];

const MAIN_INPUT = 'input';
const MAIN_OUTPUT = 'output';
const PROCESSORS_PREFIX = 'pipeline.processors[';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------
// Reading: YAML → graph

/** Reads job YAML as a graph. Invalid YAML gives an empty graph and `error`. */
export function yamlToGraph(text: string): FlowGraph {
  const lineCounter = new LineCounter();
  const parsed = parse(text, lineCounter);
  if ('error' in parsed) return { nodes: [], edges: [], error: parsed.error };
  const root = parsed.doc.contents;
  if (root === null) return { nodes: [], edges: [] };
  if (!isMap(root)) {
    return { nodes: [], edges: [], error: 'a job file must be a mapping with `input` and `output`' };
  }
  const lines = (node: unknown): [number, number] => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return [0, 0];
    const end = Math.max(range[0], range[1] - 1);
    return [lineCounter.linePos(range[0]).line, lineCounter.linePos(end).line];
  };
  const section = (id: string, role: FlowRole, node: unknown, extra: Partial<FlowNode>): FlowNode => {
    const { type, ...options } = isMap(node) ? (node.toJSON() as Json) : {};
    return { id, role, plugin: typeof type === 'string' ? type : '', options, lines: lines(node), ...extra };
  };

  const inputs: FlowNode[] = [];
  const processors: FlowNode[] = [];
  const outputs: FlowNode[] = [];
  let deadLetter: FlowNode | undefined;
  for (const pair of root.items) {
    const key = keyOf(pair);
    if (key === 'input') inputs.unshift(section('input', 'input', pair.value, { name: MAIN_INPUT }));
    if (key === 'inputs' && isMap(pair.value)) {
      for (const p of pair.value.items) {
        const name = keyOf(p);
        if (name !== undefined) inputs.push(section(`inputs.${name}`, 'input', p.value, { name }));
      }
    }
    if (key === 'pipeline' && isMap(pair.value)) {
      const list = child(pair.value, 'processors');
      if (isSeq(list)) {
        list.items.forEach((item, index) =>
          processors.push(section(processorId(index), 'processor', item, { index })),
        );
      }
    }
    if (key === 'output') outputs.unshift(section('output', 'output', pair.value, { name: MAIN_OUTPUT }));
    if (key === 'outputs' && isMap(pair.value)) {
      for (const p of pair.value.items) {
        const name = keyOf(p);
        if (name !== undefined) outputs.push(section(`outputs.${name}`, 'output', p.value, { name }));
      }
    }
    if (key === 'dead_letter') {
      deadLetter = section('dead_letter', 'output', pair.value, { name: 'dead_letter', deadLetter: true });
    }
  }

  const edges: FlowEdge[] = [];
  const flow = (source: string, target: string) =>
    edges.push({ id: `${source}->${target}`, source, target, kind: 'flow' });
  const first = processors[0];
  const last = processors[processors.length - 1];
  // The main input feeds the first processor; another input feeds the processors that
  // name it (enrich's lookup, union's inputs, a table in SQL), else the first one too.
  for (const input of inputs) {
    if (!first) {
      outputs.forEach((o) => flow(input.id, o.id));
      continue;
    }
    const users = input.name === MAIN_INPUT ? [] : processors.filter((p) => namesInput(p, input.name ?? ''));
    (users.length > 0 ? users : [first]).forEach((p) => flow(input.id, p.id));
  }
  for (let i = 1; i < processors.length; i++) flow(processors[i - 1].id, processors[i].id);
  if (last && last.plugin === 'route') {
    edges.push(...routeEdges(last, outputs));
  } else if (last) {
    outputs.forEach((o) => flow(last.id, o.id));
  }
  const nodes = [...inputs, ...processors, ...outputs, ...(deadLetter ? [deadLetter] : [])];
  return { nodes, edges };
}

/** The branches of a route processor as edges to the outputs they name. */
function routeEdges(route: FlowNode, outputs: FlowNode[]): FlowEdge[] {
  const byName = new Map(outputs.map((o) => [o.name, o.id]));
  const edges: FlowEdge[] = [];
  const routes = route.options.routes;
  if (routes && typeof routes === 'object' && !Array.isArray(routes)) {
    for (const [name, condition] of Object.entries(routes as Json)) {
      const target = byName.get(name);
      if (target) {
        edges.push({ id: branchEdgeId(route.id, target, 'route'), source: route.id, target, kind: 'route', label: String(condition) });
      }
    }
  }
  const fallback = route.options.default;
  const target = typeof fallback === 'string' ? byName.get(fallback) : undefined;
  if (target) {
    edges.push({ id: branchEdgeId(route.id, target, 'default'), source: route.id, target, kind: 'default', label: 'default' });
  }
  return edges;
}

/** The id of a route's branch edge. */
export function branchEdgeId(routeId: string, outputId: string, kind: 'route' | 'default'): string {
  return `${routeId}->${outputId}:${kind}`;
}

/** Whether a processor reads the named input (enrich's lookup, union's inputs, SQL). */
function namesInput(p: FlowNode, name: string): boolean {
  const o = p.options;
  if (p.plugin === 'enrich') return o.lookup === name;
  if (p.plugin === 'union') return Array.isArray(o.inputs) && o.inputs.includes(name);
  if (p.plugin === 'sql' && typeof o.query === 'string') {
    return new RegExp(`(^|[^\\w"])${escapeRegExp(name)}($|[^\\w"])`, 'i').test(o.query);
  }
  return false;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The id of the processor at `index`. */
export function processorId(index: number): string {
  return `${PROCESSORS_PREFIX}${index}]`;
}

/** The index of a processor id, or undefined for other ids. */
export function processorIndex(id: string): number | undefined {
  const m = /^pipeline\.processors\[(\d+)\]$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------
// Problems → nodes

/**
 * The node a problem belongs to: the node whose id is the longest prefix of its key
 * (`pipeline.processors[1].condition` → `pipeline.processors[1]`), else the node whose
 * lines hold the problem's line; undefined for job-level problems (`settings.*`, …).
 */
export function nodeIdForProblem(problem: ProblemLike, nodes: FlowNode[]): string | undefined {
  let best: FlowNode | undefined;
  for (const node of nodes) {
    const key = problem.key;
    const follows = key.length === node.id.length || key[node.id.length] === '.' || key[node.id.length] === '[';
    if (key.startsWith(node.id) && follows && (!best || node.id.length > best.id.length)) best = node;
  }
  if (best) return best.id;
  const line = problem.line;
  // Job-level keys keep their problems even when a section's lines happen to hold them.
  if (!line || /^(name|description|settings|schedule)\b/.test(problem.key)) return undefined;
  return nodes.find((n) => n.lines[0] <= line && line <= n.lines[1])?.id;
}

/** The problems per node id, and the ones that belong to no node. */
export function problemsByNode<P extends ProblemLike>(
  problems: P[],
  nodes: FlowNode[],
): { byNode: Map<string, P[]>; other: P[] } {
  const byNode = new Map<string, P[]>();
  const other: P[] = [];
  for (const p of problems) {
    const id = nodeIdForProblem(p, nodes);
    if (id === undefined) other.push(p);
    else byNode.set(id, [...(byNode.get(id) ?? []), p]);
  }
  return { byNode, other };
}

/**
 * A problem's key below its node, as the path of the option it names:
 * (`pipeline.processors[1].auth.token`, node `pipeline.processors[1]`) → `['auth', 'token']`.
 */
export function optionPath(key: string, nodeId: string): string[] {
  if (!key.startsWith(nodeId)) return [];
  return key
    .slice(nodeId.length)
    .split(/[.[\]]+/)
    .filter((part) => part !== '');
}

// ---------------------------------------------------------------------------------------
// Edits: YAML → YAML

/** Options for [`addNode`]. */
export interface AddOptions {
  /** Processors: insert after this index (-1: first). Default: last, but before a `route`. */
  afterIndex?: number;
  /** The new section's options (without `type`). */
  options?: Json;
  /** Inputs and outputs: the name under `inputs:`/`outputs:` (default: from the plugin). */
  name?: string;
}

/**
 * Adds a plugin section. A first input becomes `input:`, a first output `output:`;
 * further ones go under `inputs:`/`outputs:` with a fresh name. `nodeId` is the new node.
 */
export function addNode(text: string, role: FlowRole, plugin: string, add: AddOptions = {}): EditResult {
  return edit(text, (doc, root) => {
    const value = doc.createNode({ type: plugin, ...(add.options ?? {}) });
    if (role === 'processor') {
      let list = root.getIn(['pipeline', 'processors'], true);
      if (!isSeq(list)) {
        const pipeline = child(root, 'pipeline');
        if (pipeline !== undefined && pipeline !== null && !isMap(pipeline)) {
          throw new EditError('`pipeline` is not a mapping; fix it in the YAML');
        }
        list = new YAMLSeq();
        if (isMap(pipeline)) pipeline.set('processors', list);
        else insertTopKey(doc, root, 'pipeline', doc.createNode({ processors: list }));
      }
      claimLeadingComment(list as YAMLSeq);
      const items = (list as YAMLSeq).items;
      let at: number;
      if (add.afterIndex !== undefined) {
        at = clamp(add.afterIndex + 1, 0, items.length);
      } else {
        const lastType = items.length > 0 ? typeOf(items[items.length - 1]) : undefined;
        at = lastType === 'route' && plugin !== 'route' ? items.length - 1 : items.length;
      }
      items.splice(at, 0, value);
      return processorId(at);
    }
    const noun = role === 'input' ? MAIN_INPUT : MAIN_OUTPUT;
    const plural = `${noun}s`;
    const named = child(root, plural);
    if (!root.has(noun) && !isMap(named) && add.name === undefined) {
      insertTopKey(doc, root, noun, value);
      return noun;
    }
    if (named !== undefined && named !== null && !isMap(named)) {
      throw new EditError(`\`${plural}\` is not a mapping; fix it in the YAML`);
    }
    const taken = new Set<string>(isMap(named) ? named.items.map((p) => keyOf(p) ?? '') : []);
    if (root.has(noun)) taken.add(noun);
    const name = add.name ?? freshName(identifier(plugin), taken);
    checkName(name, taken, noun);
    if (isMap(named)) named.add(doc.createPair(name, value));
    else insertTopKey(doc, root, plural, doc.createNode({ [name]: value }));
    return `${plural}.${name}`;
  });
}

/**
 * Removes a section. Removing an output also removes the route branches to it; an
 * emptied `inputs:`, `outputs:` or `pipeline:` goes too.
 */
export function removeNode(text: string, nodeId: string): EditResult {
  return edit(text, (_doc, root) => {
    const at = locate(root, nodeId);
    if (at.kind === 'processor') {
      const list = root.getIn(['pipeline', 'processors'], true) as YAMLSeq;
      claimLeadingComment(list);
      list.items.splice(at.index, 1);
      if (list.items.length === 0) {
        const pipeline = child(root, 'pipeline') as YAMLMap;
        pipeline.delete('processors');
        if (pipeline.items.length === 0) root.delete('pipeline');
      }
      return undefined;
    }
    const output = at.kind === 'top' ? at.key === MAIN_OUTPUT && MAIN_OUTPUT : at.plural === 'outputs' && at.name;
    if (output) for (const route of routeMaps(root)) dropBranches(route, output);
    if (at.kind === 'named') claimLeadingComment(child(root, at.plural) as YAMLMap);
    root.deleteIn(at.path);
    if (at.kind === 'named') {
      const parent = child(root, at.plural);
      if (isMap(parent) && parent.items.length === 0) root.delete(at.plural);
    }
    return undefined;
  });
}

/** Moves the processor at `from` to position `to`; `nodeId` is its new id. */
export function moveProcessor(text: string, from: number, to: number): EditResult {
  return edit(text, (_doc, root) => {
    const list = root.getIn(['pipeline', 'processors'], true);
    if (!isSeq(list) || from < 0 || from >= list.items.length) {
      throw new EditError(`there is no processor ${from}`);
    }
    const target = clamp(to, 0, list.items.length - 1);
    claimLeadingComment(list);
    const [item] = list.items.splice(from, 1);
    list.items.splice(target, 0, item);
    return processorId(target);
  });
}

/**
 * Sets a section's options (everything but `type`) to `options`: changed values are
 * written in place (keeping their comments and quoting), missing keys are removed, new
 * ones appended; nested mappings are merged the same way.
 */
export function setNodeOptions(text: string, nodeId: string, options: Json): EditResult {
  return edit(text, (doc, root) => {
    const section = root.getIn(locate(root, nodeId).path, true);
    if (!isMap(section)) throw new EditError(`\`${nodeId}\` is not a mapping; fix it in the YAML`);
    mergeMap(doc, section, options, new Set(['type']));
    return nodeId;
  });
}

/**
 * Renames an input under `inputs:` or an output under `outputs:` in place, and the
 * references to it (route branches; enrich's `lookup`, union's `inputs`). SQL text is
 * not rewritten.
 */
export function renameNode(text: string, nodeId: string, newName: string): EditResult {
  return edit(text, (_doc, root) => {
    const at = locate(root, nodeId);
    if (at.kind !== 'named') throw new EditError('only sections under `inputs:` or `outputs:` have a name to change');
    const { plural, name: oldName } = at;
    if (oldName === newName) return nodeId;
    const parent = child(root, plural) as YAMLMap;
    const noun = plural.slice(0, -1);
    const taken = new Set(parent.items.map((p) => keyOf(p) ?? ''));
    if (root.has(noun)) taken.add(noun);
    checkName(newName, taken, noun);
    const pair = parent.items.find((p) => keyOf(p) === oldName) as Pair;
    setKey(pair, newName);
    const processors = root.getIn(['pipeline', 'processors'], true);
    if (plural === 'outputs') {
      for (const route of routeMaps(root)) {
        const routes = child(route, 'routes');
        const branch = isMap(routes) ? routes.items.find((p) => keyOf(p) === oldName) : undefined;
        if (branch) setKey(branch, newName);
        if (route.get('default') === oldName) route.set('default', newName);
      }
    } else if (isSeq(processors)) {
      for (const item of processors.items) {
        if (!isMap(item)) continue;
        if (item.get('type') === 'enrich' && item.get('lookup') === oldName) item.set('lookup', newName);
        const inputs = child(item, 'inputs');
        if (item.get('type') === 'union' && isSeq(inputs)) {
          inputs.items.forEach((n, i) => {
            if (isScalar(n) && n.value === oldName) n.value = newName;
            else if (n === oldName) inputs.items[i] = newName;
          });
        }
      }
    }
    return `${plural}.${newName}`;
  });
}

/** A branch of a route: a condition under `routes:`, or the `default:` output. */
export type Branch = { condition?: string } | { default: true };

/**
 * Sends a route's records to an output: `routes.NAME: condition` (`true` when none is
 * given; an existing branch keeps its condition unless one is given), or `default: NAME`.
 */
export function connectBranch(text: string, routeId: string, outputId: string, branch: Branch = {}): EditResult {
  return edit(text, (doc, root) => {
    const route = routeMap(root, routeId);
    const name = outputName(root, outputId);
    if ('default' in branch) {
      route.set('default', name);
      return routeId;
    }
    let routes = child(route, 'routes');
    if (!isMap(routes)) {
      routes = new YAMLMap();
      insertPairBefore(route, doc.createPair('routes', routes), 'default');
    }
    const map = routes as YAMLMap;
    if (!map.has(name) || branch.condition !== undefined) map.set(name, branch.condition ?? 'true');
    return routeId;
  });
}

/** Removes a route's branch to an output: its condition, its `default`, or both (no kind). */
export function disconnectBranch(text: string, routeId: string, outputId: string, kind?: 'route' | 'default'): EditResult {
  return edit(text, (_doc, root) => {
    const route = routeMap(root, routeId);
    dropBranches(route, outputName(root, outputId), kind);
    return routeId;
  });
}

// ---------------------------------------------------------------------------------------
// Helpers of the edits

/** An edit refused for a reason the user should see. */
class EditError extends Error {}

/**
 * Parses `text`, runs `change` on its Document and prints it back. A parse error or an
 * EditError leaves the text as it was and says why.
 */
function edit(text: string, change: (doc: Document, root: YAMLMap) => string | undefined): EditResult {
  const parsed = parse(text);
  if ('error' in parsed) return { text, error: parsed.error };
  const { doc } = parsed;
  if (doc.contents === null) doc.contents = new YAMLMap() as never;
  const root = doc.contents;
  if (!isMap(root)) return { text, error: 'a job file must be a mapping with `input` and `output`' };
  const before = doc.toJS();
  let nodeId: string | undefined;
  try {
    nodeId = change(doc, root);
  } catch (e) {
    if (e instanceof EditError) return { text, error: e.message };
    throw e;
  }
  if (deepEqual(before, doc.toJS())) return { text, nodeId };
  return { text: render(doc, text), nodeId };
}

function parse(text: string, lineCounter?: LineCounter): { doc: Document } | { error: string } {
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return { error: doc.errors[0].message.split('\n')[0] };
  return { doc };
}

/** Where a node's section is: a processor, a top-level key, or a name under one. */
type Located =
  | { kind: 'processor'; index: number; path: (string | number)[] }
  | { kind: 'top'; key: string; path: string[] }
  | { kind: 'named'; plural: string; name: string; path: string[] };

/** Finds a node's section in the document; throws when there is no such section. */
function locate(root: YAMLMap, nodeId: string): Located {
  const missing = new EditError(`there is no node \`${nodeId}\``);
  const index = processorIndex(nodeId);
  if (index !== undefined) {
    const list = root.getIn(['pipeline', 'processors'], true);
    if (!isSeq(list) || index >= list.items.length) throw missing;
    return { kind: 'processor', index, path: ['pipeline', 'processors', index] };
  }
  const dot = nodeId.indexOf('.');
  if (dot < 0) {
    if (!['input', 'output', 'dead_letter'].includes(nodeId) || !root.has(nodeId)) throw missing;
    return { kind: 'top', key: nodeId, path: [nodeId] };
  }
  const plural = nodeId.slice(0, dot);
  const name = nodeId.slice(dot + 1);
  const parent = child(root, plural);
  if (!['inputs', 'outputs'].includes(plural) || !isMap(parent) || !parent.has(name)) throw missing;
  return { kind: 'named', plural, name, path: [plural, name] };
}

function routeMap(root: YAMLMap, routeId: string): YAMLMap {
  const index = processorIndex(routeId);
  const node = index === undefined ? undefined : root.getIn(['pipeline', 'processors', index], true);
  if (!isMap(node) || node.get('type') !== 'route') throw new EditError(`\`${routeId}\` is not a route processor`);
  return node;
}

/** Every `route` processor's mapping. */
function routeMaps(root: YAMLMap): YAMLMap[] {
  const list = root.getIn(['pipeline', 'processors'], true);
  if (!isSeq(list)) return [];
  return list.items.filter((item): item is YAMLMap => isMap(item) && item.get('type') === 'route');
}

function outputName(root: YAMLMap, outputId: string): string {
  const at = locate(root, outputId);
  if (at.kind === 'top' && at.key === MAIN_OUTPUT) return MAIN_OUTPUT;
  if (at.kind === 'named' && at.plural === 'outputs') return at.name;
  throw new EditError(`\`${outputId}\` is not an output a route can send to`);
}

function dropBranches(route: YAMLMap, name: string, kind?: 'route' | 'default') {
  const routes = child(route, 'routes');
  if (kind !== 'default' && isMap(routes)) routes.delete(name);
  if (kind !== 'route' && route.get('default') === name) route.delete('default');
}

/** Inserts a top-level key before the first key that comes after it in TOP_KEYS. */
function insertTopKey(doc: Document, root: YAMLMap, key: string, value: unknown) {
  const rank = TOP_KEYS.indexOf(key);
  const at = root.items.findIndex((p) => TOP_KEYS.indexOf(keyOf(p) ?? '') > rank);
  const pair = doc.createPair(key, value);
  if (at < 0) root.items.push(pair);
  else root.items.splice(at, 0, pair);
}

function insertPairBefore(map: YAMLMap, pair: Pair, beforeKey: string) {
  const at = map.items.findIndex((p) => keyOf(p) === beforeKey);
  if (at < 0) map.items.push(pair);
  else map.items.splice(at, 0, pair);
}

/**
 * Gives the comment above a block collection's first item to that item: the parser
 * hangs it on the collection, but it describes the item and must move or go with it.
 */
function claimLeadingComment(collection: YAMLMap | YAMLSeq) {
  const first = collection.items[0];
  const target = isPair(first) ? first.key : first;
  if (!collection.commentBefore || collection.flow || !isNode(target)) return;
  target.commentBefore = target.commentBefore
    ? `${collection.commentBefore}\n${target.commentBefore}`
    : collection.commentBefore;
  collection.commentBefore = undefined;
}

/** Renames a pair's key, keeping its comments and position. */
function setKey(pair: Pair, name: string) {
  if (isScalar(pair.key)) pair.key.value = name;
  else pair.key = new Scalar(name);
}

/** Merges plain values into a mapping in place (see [`setNodeOptions`]). */
function mergeMap(doc: Document, map: YAMLMap, value: Json, keep: Set<string> = new Set()) {
  for (const pair of [...map.items]) {
    const key = keyOf(pair);
    if (key === undefined || keep.has(key)) continue;
    if (!(key in value) || value[key] === undefined) map.delete(key);
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || keep.has(key)) continue;
    const existing = child(map, key);
    if (existing !== undefined && deepEqual(toPlain(existing), v)) continue;
    if (isMap(existing) && isPlainObject(v)) {
      mergeMap(doc, existing, v);
    } else if (isScalar(existing) && (v === null || typeof v !== 'object')) {
      existing.value = v;
    } else {
      const node = doc.createNode(v);
      if ((isMap(existing) || isSeq(existing)) && (isMap(node) || isSeq(node))) node.flow = existing.flow;
      map.set(key, node);
    }
  }
}

function toPlain(node: unknown): unknown {
  if (isMap(node) || isSeq(node) || isScalar(node)) return node.toJSON();
  return node;
}

/** The node under a key (a Scalar, a collection, or undefined), not its value. */
function child(map: YAMLMap, key: string): unknown {
  return map.get(key, true) as unknown;
}

function keyOf(pair: Pair): string | undefined {
  const key = isScalar(pair.key) ? pair.key.value : pair.key;
  return typeof key === 'string' ? key : typeof key === 'number' ? String(key) : undefined;
}

function typeOf(node: unknown): unknown {
  return isMap(node) ? node.get('type') : undefined;
}

/** A SQL identifier made from a plugin name (`my-plugin` → `my_plugin`). */
function identifier(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

function freshName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

function checkName(name: string, taken: Set<string>, noun: string) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new EditError(`an ${noun} name must be a SQL identifier (letters, digits, \`_\`; not starting with a digit)`);
  }
  if (taken.has(name)) throw new EditError(`there is already an ${noun} called \`${name}\``);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(Math.max(n, lo), hi);
}

function isPlainObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Printing: keep the user's formatting

/**
 * Prints an edited document in the style of the text it came from: the same indent and
 * sequence indentation, no line folding, and every line whose content did not change
 * spelled as it was (the printer pads flow collections, `{a: 1}` → `{ a: 1 }`, and
 * squeezes spaces before comments). A changed line takes the flow-bracket spacing and
 * comment column of the line with the same key it replaces. Each respelling is kept only
 * if the text reads back as the same data.
 */
function render(doc: Document, original: string): string {
  const printed = doc.toString({
    lineWidth: 0,
    indent: detectIndent(original),
    indentSeq: detectIndentSeq(original),
    flowCollectionPadding: detectFlowPadding(original),
  });
  const want = doc.toJS();
  const readsBack = (text: string) => {
    const again = parseDocument(text);
    return again.errors.length === 0 && deepEqual(again.toJS(), want);
  };
  let best = printed;
  for (const normalize of [looseLine, flowLine]) {
    const restored = restoreLines(printed, original, normalize);
    if (restored === printed) break;
    if (readsBack(restored)) {
      best = restored;
      break;
    }
  }
  const restyled = restyleChanged(best, original);
  return restyled !== best && readsBack(restyled) ? restyled : best;
}

/** Replaces each printed line by the original line it only respells. */
function restoreLines(printed: string, original: string, normalize: (line: string) => string): string {
  const spelling = new Map<string, string>();
  for (const line of original.split('\n')) {
    const key = normalize(line);
    if (!spelling.has(key)) spelling.set(key, line);
  }
  return printed
    .split('\n')
    .map((line) => spelling.get(normalize(line)) ?? line)
    .join('\n');
}

/** Gives each new line the style of the original line with the same key, if any. */
function restyleChanged(text: string, original: string): string {
  const lines = original.split('\n');
  const verbatim = new Set(lines);
  const byKey = new Map<string, string>();
  for (const line of lines) {
    const key = keyPrefix(line);
    if (key && !byKey.has(key)) byKey.set(key, line);
  }
  return text
    .split('\n')
    .map((line) => {
      const key = keyPrefix(line);
      const old = key && !verbatim.has(line) ? byKey.get(key) : undefined;
      return old === undefined ? line : styleLike(line, old);
    })
    .join('\n');
}

/** `  key:` or `  - key:` at the start of a line. */
function keyPrefix(line: string): string | undefined {
  return /^(\s*(?:- )?[^\s:#'"{}[\],]+:)(\s|$)/.exec(line)?.[1];
}

/** `line` with the flow-bracket spacing and the comment column of `old`. */
function styleLike(line: string, old: string): string {
  const now = splitComment(line);
  const before = splitComment(old);
  let content = now.content;
  const value = before.content.slice(keyPrefix(old)!.length).trimStart();
  if (/^[{[]/.test(value) && !/^(\{\}|\[\])/.test(value)) content = spaceFlow(content, /^[{[] /.test(value));
  if (now.comment === undefined) return content;
  const column = before.comment === now.comment ? before.column : 0;
  const bare = content.trimEnd();
  return bare.length < column ? bare.padEnd(column) + now.comment : `${bare} ${now.comment}`;
}

/** A line's content and its comment (`# …`) with the comment's column, quotes respected. */
function splitComment(line: string): { content: string; comment?: string; column: number } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return { content: line.slice(0, i), comment: line.slice(i), column: i };
    }
  }
  return { content: line, column: 0 };
}

/** Pads (`{ a }`) or tightens (`{a}`) the flow brackets of a line, outside quotes. */
function spaceFlow(line: string, padded: boolean): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      out += c;
      if (c === '\\' && quote === '"') out += line[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    if (c === '}' || c === ']') {
      const trimmed = out.trimEnd();
      const opened = '{['.includes(trimmed[trimmed.length - 1]);
      out = trimmed + (padded && !opened ? ' ' : '');
    }
    out += c;
    if (c === '{' || c === '[') {
      while (line[i + 1] === ' ') i++;
      if (padded && !'}]'.includes(line[i + 1] ?? '}')) out += ' ';
    }
  }
  return out;
}

/**
 * A line with the spacing YAML ignores taken out, outside quotes: around flow brackets
 * and commas, runs of spaces, trailing spaces. Indentation is kept.
 */
function looseLine(line: string): string {
  return squeeze(line, true);
}

/** Like [`looseLine`] but only spacing around flow brackets and commas. */
function flowLine(line: string): string {
  return squeeze(line, false);
}

function squeeze(line: string, runs: boolean): string {
  const indent = /^\s*/.exec(line)![0];
  let out = indent;
  let quote: string | null = null;
  const rest = line.slice(indent.length).trimEnd();
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (quote) {
      out += c;
      if (c === '\\' && quote === '"') out += rest[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      out += c;
      continue;
    }
    if (c === ' ') {
      const prev = out[out.length - 1];
      const next = rest.slice(i).trimStart()[0];
      if ('{[,'.includes(prev) || '}]'.includes(next)) continue;
      if (runs && prev === ' ') continue;
      out += c;
      continue;
    }
    if (c === '#' && out.endsWith(' ')) quote = '\n'; // the rest is a comment: as it is
    out += c;
  }
  return out;
}

/** The indent of the first nested line (default 2). */
function detectIndent(text: string): number {
  const m = /^[A-Za-z_][\w-]*:[ \t]*(#.*)?\r?\n( +)[^\s#-]/m.exec(text);
  return m ? m[2].length : 2;
}

/** Whether block sequences are indented under their key (`key:\n  - a`), as by default. */
function detectIndentSeq(text: string): boolean {
  const flush = text.match(/^( *)[\w-]+:[ \t]*\r?\n\1- /gm)?.length ?? 0;
  const indented = text.match(/^( *)[\w-]+:[ \t]*\r?\n\1 +- /gm)?.length ?? 0;
  return !(flush > indented);
}

/** Whether flow collections are written `{ a: 1 }` (the printer's default) or `{a: 1}`. */
function detectFlowPadding(text: string): boolean {
  const tight = text.match(/(^|[^$])[{[][^\s}\]]/gm)?.length ?? 0;
  const padded = text.match(/(^|[^$])[{[] /gm)?.length ?? 0;
  return !(tight > padded);
}
