import { describe, expect, it } from 'vitest';
import { EditorState, Text } from '@codemirror/state';
import {
  problemMessage, problemRange, problemsToDiagnostics, validationSource, type ValidationState,
} from './diagnostics';
import type { Problem } from '../api/types';

const yaml = [
  'name: demo',
  'input:',
  '  type: csvv',
  '  path: ${OUT_DIR}/a.csv',
  '',
].join('\n');
const doc = Text.of(yaml.split('\n'));

function text(range: { from: number; to: number }): string {
  return doc.sliceString(range.from, range.to);
}

describe('problemRange', () => {
  it('underlines the word at the line and column (both 1-based)', () => {
    expect(text(problemRange(doc, { line: 3, column: 9, key: 'input.type', message: '' }))).toBe('csvv');
    expect(text(problemRange(doc, { line: 4, column: 9, key: '', message: '' }))).toBe('${OUT_DIR}/a.csv');
    expect(text(problemRange(doc, { line: 3, column: 3, key: '', message: '' }))).toBe('type:');
  });

  it('underlines the line without a column, or with one past its end or on a blank', () => {
    expect(text(problemRange(doc, { line: 3, column: null, key: '', message: '' }))).toBe('type: csvv');
    expect(text(problemRange(doc, { line: 3, column: 0, key: '', message: '' }))).toBe('type: csvv');
    expect(text(problemRange(doc, { line: 3, column: 99, key: '', message: '' }))).toBe('type: csvv');
    expect(text(problemRange(doc, { line: 3, column: 1, key: '', message: '' }))).toBe('type: csvv');
  });

  it('puts a problem without a line on the first, and clamps lines past the end', () => {
    expect(text(problemRange(doc, { key: 'output', message: '' }))).toBe('name: demo');
    const last = problemRange(doc, { line: 40, column: 1, key: '', message: '' });
    expect(last).toEqual({ from: doc.length, to: doc.length });
  });
});

describe('problemMessage', () => {
  it('names the key unless the message does', () => {
    expect(problemMessage({ key: 'input.path', message: 'missing' })).toBe('input.path: missing');
    expect(problemMessage({ key: 'output', message: '`output`: missing' })).toBe('`output`: missing');
    expect(problemMessage({ key: '', message: 'bad' })).toBe('bad');
  });
});

describe('problemsToDiagnostics', () => {
  it('makes one error per problem', () => {
    const problems: Problem[] = [
      { line: 3, column: 9, key: 'input.type', message: 'unknown input type `csvv`' },
      { line: 1, column: 1, key: 'output', message: 'missing `output`' },
    ];
    const diagnostics = problemsToDiagnostics(doc, problems);
    expect(diagnostics).toHaveLength(2);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', source: 'fust', from: 26, to: 30 });
    expect(diagnostics[0].message).toBe('input.type: unknown input type `csvv`');
    expect(diagnostics[1]).toMatchObject({ from: 0, to: 5, message: 'missing `output`' });
  });
});

describe('validationSource', () => {
  function view(text: string) {
    return { state: EditorState.create({ doc: text }) };
  }

  it('maps the server\'s problems to diagnostics and reports them', async () => {
    const states: ValidationState[] = [];
    const problems: Problem[] = [{ line: 3, column: 9, key: 'input.type', message: 'unknown' }];
    const source = validationSource(async (sent) => {
      expect(sent).toBe(yaml);
      return problems;
    }, (state) => states.push(state));
    const diagnostics = await source(view(yaml));
    expect(diagnostics.map((d) => [d.from, d.to])).toEqual([[26, 30]]);
    expect(states).toEqual([{ status: 'checking' }, { status: 'invalid', problems }]);
  });

  it('reports a valid job with no diagnostics', async () => {
    const states: ValidationState[] = [];
    const source = validationSource(async () => [], (state) => states.push(state));
    expect(await source(view(yaml))).toEqual([]);
    expect(states.at(-1)).toEqual({ status: 'valid' });
  });

  it('does not ask the server about an empty document', async () => {
    const states: ValidationState[] = [];
    let calls = 0;
    const source = validationSource(async () => {
      calls += 1;
      return [];
    }, (state) => states.push(state));
    expect(await source(view('  \n'))).toEqual([]);
    expect(calls).toBe(0);
    expect(states).toEqual([{ status: 'empty' }]);
  });

  it('reports a failure to validate without underlining anything', async () => {
    const states: ValidationState[] = [];
    const source = validationSource(async () => {
      throw new Error('Cannot reach the Fust API');
    }, (state) => states.push(state));
    expect(await source(view(yaml))).toEqual([]);
    expect(states.at(-1)).toEqual({ status: 'failed', message: 'Cannot reach the Fust API' });
  });

  it('aborts the check still waiting when a newer one starts', async () => {
    const states: ValidationState[] = [];
    const signals: AbortSignal[] = [];
    const answers: Array<(problems: Problem[]) => void> = [];
    const source = validationSource(
      (_yaml, signal) => {
        signals.push(signal);
        return new Promise((resolve) => answers.push(resolve));
      },
      (state) => states.push(state),
    );
    const older = source(view('name: a'));
    const newer = source(view('name: b'));
    expect(signals[0].aborted).toBe(true);
    expect(signals[1].aborted).toBe(false);
    answers[0]([{ line: 1, column: 1, key: '', message: 'stale' }]);
    answers[1]([]);
    expect(await older).toEqual([]);
    expect(await newer).toEqual([]);
    expect(states).toEqual([{ status: 'checking' }, { status: 'checking' }, { status: 'valid' }]);
  });
});
