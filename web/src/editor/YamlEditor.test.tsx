// The editor's debounce: validation waits until typing has paused for VALIDATE_DELAY_MS, then
// sends the latest text once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render } from '@testing-library/react';
import YamlEditor, { VALIDATE_DELAY_MS } from './YamlEditor';
import type { Validate, ValidationState } from '../lib/diagnostics';

// jsdom has no layout; CodeMirror measures text ranges.
function emptyRects(): DOMRectList {
  return Object.assign([], { item: () => null }) as unknown as DOMRectList;
}

describe('YamlEditor validation', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    Range.prototype.getClientRects = emptyRects;
    Range.prototype.getBoundingClientRect = () => new DOMRect();
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('validates once, 400 ms after the last change, with the latest text', async () => {
    expect(VALIDATE_DELAY_MS).toBe(400);
    const validate = vi.fn<Validate>(async () => []);
    const states: ValidationState[] = [];
    const props = {
      onChange: () => undefined,
      validate,
      onValidation: (state: ValidationState) => states.push(state),
      plugins: [],
      ref: null,
      label: 'YAML',
    };
    const { rerender } = render(<YamlEditor {...props} value="name: a" />);
    await act(async () => {
      vi.advanceTimersByTime(VALIDATE_DELAY_MS + 50);
    });
    expect(validate).toHaveBeenCalledTimes(1);
    expect(validate.mock.calls[0][0]).toBe('name: a');

    // Three edits 100 ms apart: one check, after the last one has rested.
    for (const text of ['name: ab', 'name: abc', 'name: abcd']) {
      rerender(<YamlEditor {...props} value={text} />);
      await act(async () => {
        vi.advanceTimersByTime(100);
      });
    }
    expect(validate).toHaveBeenCalledTimes(1);
    await act(async () => {
      vi.advanceTimersByTime(VALIDATE_DELAY_MS);
    });
    expect(validate).toHaveBeenCalledTimes(2);
    expect(validate.mock.calls[1][0]).toBe('name: abcd');
    expect(states.at(-1)).toEqual({ status: 'valid' });
  });
});
