// The server's validation problems as CodeMirror lint diagnostics, and the lint source that
// sends the editor's YAML to POST /validate (CodeMirror's linter calls it `delay` ms after the
// last change: that is the debounce).
import type { Diagnostic } from '@codemirror/lint';
import type { EditorState, Text } from '@codemirror/state';
import type { Problem } from '../api/types';

/** What the editor shows next to its tabs about the latest check. */
export type ValidationState =
  | { status: 'empty' }
  | { status: 'checking' }
  | { status: 'valid' }
  | { status: 'invalid'; problems: Problem[] }
  | { status: 'failed'; message: string };

/**
 * Where a problem is in `doc`: the word starting at its 1-based line and column, or the whole
 * line (from its first non-blank character) when the column is unknown or past the line's text.
 * A problem without a line is put on the first line.
 */
export function problemRange(doc: Text, problem: Problem): { from: number; to: number } {
  const lineNumber = Math.min(Math.max(problem.line ?? 1, 1), doc.lines);
  const line = doc.line(lineNumber);
  const indent = line.text.length - line.text.trimStart().length;
  const column = problem.column ?? 0;
  if (column < 1 || column - 1 >= line.length || /\s/.test(line.text[column - 1])) {
    return { from: line.from + indent, to: line.to };
  }
  const start = column - 1;
  let end = start;
  while (end < line.length && !/\s/.test(line.text[end])) {
    end += 1;
  }
  return { from: line.from + start, to: line.from + end };
}

/** The problem's text, with the key it is about in front (`input.path: …`) when it has one. */
export function problemMessage(problem: Problem): string {
  if (problem.key === '' || problem.message.includes(`\`${problem.key}\``)) {
    return problem.message;
  }
  return `${problem.key}: ${problem.message}`;
}

export function problemsToDiagnostics(doc: Text, problems: Problem[]): Diagnostic[] {
  return problems.map((problem) => ({
    ...problemRange(doc, problem),
    severity: 'error',
    source: 'fust',
    message: problemMessage(problem),
  }));
}

/** Sends YAML to the server; resolves to its problems, empty when the job is valid. */
export type Validate = (yaml: string, signal: AbortSignal) => Promise<Problem[]>;

/**
 * A CodeMirror lint source that validates the document on the server. A new check aborts the
 * one still waiting for its answer (CodeMirror also drops a result for an older document).
 * `report` hears every state: checking, then valid, invalid (with the problems) or failed
 * (the server could not be asked; no underline then).
 */
export function validationSource(validate: Validate, report: (state: ValidationState) => void) {
  let inFlight: AbortController | null = null;
  return async (view: { state: EditorState }): Promise<Diagnostic[]> => {
    inFlight?.abort();
    const doc = view.state.doc;
    const yaml = doc.toString();
    if (yaml.trim() === '') {
      inFlight = null;
      report({ status: 'empty' });
      return [];
    }
    const controller = new AbortController();
    inFlight = controller;
    report({ status: 'checking' });
    try {
      const problems = await validate(yaml, controller.signal);
      if (controller.signal.aborted) {
        return [];
      }
      report(problems.length === 0 ? { status: 'valid' } : { status: 'invalid', problems });
      return problemsToDiagnostics(doc, problems);
    } catch (error) {
      if (!controller.signal.aborted) {
        report({ status: 'failed', message: error instanceof Error ? error.message : String(error) });
      }
      return [];
    } finally {
      if (inFlight === controller) {
        inFlight = null;
      }
    }
  };
}
