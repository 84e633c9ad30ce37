// Small facts read from a job's YAML text, and the edit that turns one text into another.
import { parseDocument } from 'yaml';

/** The job's `name:`, or null when the text has none (or does not parse). */
export function jobNameOf(yaml: string): string | null {
  try {
    const name = parseDocument(yaml).get('name');
    return typeof name === 'string' && name.trim() !== '' ? name.trim() : null;
  } catch {
    return null;
  }
}

/**
 * The smallest single replacement that turns `before` into `after`: the common start and end
 * are kept, so an edit from the designer keeps the editor's cursor and undo history sensible.
 * Null when the texts are equal.
 */
export function minimalChange(before: string, after: string): { from: number; to: number; insert: string } | null {
  if (before === after) {
    return null;
  }
  let start = 0;
  const shorter = Math.min(before.length, after.length);
  while (start < shorter && before[start] === after[start]) {
    start += 1;
  }
  let end = 0;
  while (
    end < shorter - start &&
    before[before.length - 1 - end] === after[after.length - 1 - end]
  ) {
    end += 1;
  }
  return { from: start, to: before.length - end, insert: after.slice(start, after.length - end) };
}

/** A starting point for /#/new: every section, with comments on what goes where. */
export const NEW_JOB_TEMPLATE = `# A job reads its input, runs the processors in order, and writes its output.
# The plugin reference lists every input, processor and output with its options.
name: my_job
input:
  type: csv
  path: data/orders.csv
pipeline:
  processors:
    - type: filter
      condition: "amount > 100"
output:
  type: console
`;
