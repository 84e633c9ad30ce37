// What the options form needs from a plugin's JSON Schema and the server's problems, as
// pure functions: the schema as the form renders it, the problems as its error schema,
// and the form's data cleaned before it is written back to the YAML.
import { parse } from 'yaml';
import { optionPath } from './convert';
import type { ProblemLike } from './convert';

type Json = Record<string, unknown>;

/**
 * A plugin's options schema made ready for the form: no `$schema` (the generated
 * schemas say draft 2020-12, which the form's validator does not load), no `default`
 * (the form would write every default into the YAML; the YAML leaves them out), no
 * `format` (schemars' `uint`, `int64` … are not formats the validator knows) and no
 * title on the whole (the panel names the plugin).
 */
export function formSchema(options: unknown): Json {
  const clean = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(clean);
    if (value === null || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === '$schema' || key === 'default' || key === 'format') continue;
      // `properties` holds option names: an option may be called `default` or `format`.
      out[key] = key === 'properties' && v && typeof v === 'object' ? cleanProperties(v as Json, clean) : clean(v);
    }
    return out;
  };
  const schema = clean(options);
  const root: Json = schema && typeof schema === 'object' && !Array.isArray(schema) ? (schema as Json) : {};
  delete root.title;
  if (root.type === undefined) root.type = 'object';
  return root;
}

function cleanProperties(properties: Json, clean: (v: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(properties).map(([name, v]) => [name, clean(v)]));
}

/** An RJSF error schema: `{ option: { __errors: [message] } }`, `__errors` at the root. */
export interface ErrorTree {
  __errors?: string[];
  [key: string]: ErrorTree | string[] | undefined;
}

/** The node's problems placed at the options they name (`…processors[1].auth.token`). */
export function errorTree(problems: ProblemLike[], nodeId: string): ErrorTree {
  const root: ErrorTree = {};
  for (const p of problems) {
    let at = root;
    for (const part of optionPath(p.key, nodeId)) {
      const next = at[part];
      at = next && !Array.isArray(next) ? next : (at[part] = {});
    }
    at.__errors = [...(at.__errors ?? []), p.message];
  }
  return root;
}

/**
 * The form's data as options to write: undefined values left out, and options the
 * section did not have dropped while they are still empty (`''`, `{}`, `[]`, `[null]`, null), so
 * opening a form and touching one field adds one key.
 */
export function cleanFormData(data: unknown, before: Json): Json {
  const out: Json = {};
  if (!data || typeof data !== 'object' || Array.isArray(data)) return out;
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    if (!(key in before) && isEmpty(value)) continue;
    out[key] = value;
  }
  return out;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.every((v) => v === null || v === undefined);
  if (typeof value === 'object') return Object.values(value as Json).every((v) => v === undefined);
  return false;
}

/** A plugin's example (`type: filter\ncondition: …`) as the options of a new node. */
export function exampleOptions(example: string, plugin: string): Json {
  // A new route starts without branches: the user connects it to the outputs.
  if (plugin === 'route') return {};
  let parsed: unknown;
  try {
    parsed = parse(example);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const options = { ...(parsed as Json) };
  delete options.type;
  return options;
}
