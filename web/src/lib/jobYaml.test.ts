import { describe, expect, it } from 'vitest';
import { jobNameOf, minimalChange, NEW_JOB_TEMPLATE } from './jobYaml';

function apply(text: string, change: { from: number; to: number; insert: string } | null): string {
  return change === null ? text : text.slice(0, change.from) + change.insert + text.slice(change.to);
}

describe('jobNameOf', () => {
  it('reads name:', () => {
    expect(jobNameOf('name: paid_orders\ninput: {}\n')).toBe('paid_orders');
    expect(jobNameOf(NEW_JOB_TEMPLATE)).toBe('my_job');
  });

  it('is null without a name or for broken YAML', () => {
    expect(jobNameOf('input: {}\n')).toBeNull();
    expect(jobNameOf('name: [a\n')).toBeNull();
    expect(jobNameOf('name: 3\n')).toBeNull();
    expect(jobNameOf('')).toBeNull();
  });
});

describe('minimalChange', () => {
  it('replaces only the part that differs', () => {
    expect(minimalChange('name: a\nx: 1\n', 'name: b\nx: 1\n')).toEqual({ from: 6, to: 7, insert: 'b' });
    expect(minimalChange('abc', 'abXYc')).toEqual({ from: 2, to: 2, insert: 'XY' });
    expect(minimalChange('aaaa', 'aa')).toEqual({ from: 2, to: 4, insert: '' });
    expect(minimalChange('same', 'same')).toBeNull();
  });

  it('always turns the first text into the second', () => {
    const pairs = [['', 'new'], ['old', ''], ['abab', 'ab'], ['x\ny\n', 'x\nz\ny\n'], ['aa', 'aaa']];
    for (const [before, after] of pairs) {
      expect(apply(before, minimalChange(before, after))).toBe(after);
    }
  });
});
