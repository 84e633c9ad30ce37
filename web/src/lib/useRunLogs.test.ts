import { describe, expect, it } from 'vitest';
import { appendLines, linesAfter } from './useRunLogs';
import type { LogLine } from '../api/types';

function line(seq: number): LogLine {
  return { run_id: 'r', seq, at: seq, level: 'info', message: `line ${seq}` };
}

describe('run log paging', () => {
  it('keeps only lines after the last one seen', () => {
    expect(linesAfter([line(3), line(4), line(5)], 3).map((l) => l.seq)).toEqual([4, 5]);
    expect(linesAfter([line(1)], 1)).toEqual([]);
  });

  it('appends and keeps the newest lines, counting the dropped ones', () => {
    let log = { lines: [] as LogLine[], dropped: 0 };
    log = appendLines(log, [line(1), line(2)], 3);
    expect(log).toEqual({ lines: [line(1), line(2)], dropped: 0 });
    log = appendLines(log, [line(3), line(4), line(5)], 3);
    expect(log.lines.map((l) => l.seq)).toEqual([3, 4, 5]);
    expect(log.dropped).toBe(2);
  });
});
