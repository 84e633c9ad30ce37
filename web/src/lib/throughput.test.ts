import { describe, expect, it } from 'vitest';
import {
  appendSample, averageRate, currentRate, elapsedMs, ratePerSecond, sampleOf, throughputSeries,
  type Sample,
} from './throughput';

function sample(at: number, rowsIn: number, rowsOut = rowsIn, bytesOut = 0): Sample {
  return { at, rowsIn, rowsOut, bytesOut };
}

describe('appendSample', () => {
  it('appends newer samples and keeps the input unchanged', () => {
    const first = [sample(0, 0)];
    const second = appendSample(first, sample(500, 10));
    expect(second).toEqual([sample(0, 0), sample(500, 10)]);
    expect(first).toHaveLength(1);
  });

  it('replaces a sample at the same moment and drops an older one', () => {
    const samples = [sample(0, 0), sample(500, 10)];
    expect(appendSample(samples, sample(500, 12))).toEqual([sample(0, 0), sample(500, 12)]);
    expect(appendSample(samples, sample(400, 99))).toBe(samples);
  });

  it('keeps at most max samples, dropping the oldest', () => {
    let samples: Sample[] = [];
    for (let i = 0; i < 5; i += 1) {
      samples = appendSample(samples, sample(i * 1000, i), 3);
    }
    expect(samples.map((s) => s.at)).toEqual([2000, 3000, 4000]);
  });
});

describe('rates', () => {
  it('divides the counter delta by the seconds between samples', () => {
    expect(ratePerSecond(sample(0, 0), sample(500, 1000), 'rowsIn')).toBe(2000);
    expect(ratePerSecond(sample(0, 0, 0, 0), sample(2000, 0, 0, 4096), 'bytesOut')).toBe(2048);
  });

  it('is 0 when no time passed or the counter went back', () => {
    expect(ratePerSecond(sample(100, 0), sample(100, 50), 'rowsIn')).toBe(0);
    expect(ratePerSecond(sample(0, 50), sample(500, 10), 'rowsIn')).toBe(0);
  });

  it('smooths the current rate over a window', () => {
    const samples = [sample(0, 0), sample(500, 100), sample(1000, 1000), sample(1500, 1100), sample(2500, 2100)];
    // Within 2 s of 2500: 500 (100 rows) → 2500 (2100 rows): 2000 rows in 2 s.
    expect(currentRate(samples, 'rowsIn')).toBe(1000);
    // Within 1 s: 1500 → 2500.
    expect(currentRate(samples, 'rowsIn', 1000)).toBe(1000);
    expect(currentRate(samples.slice(0, 1), 'rowsIn')).toBe(0);
    // The window always holds at least the previous sample, however old.
    expect(currentRate([sample(0, 0), sample(10_000, 500)], 'rowsIn')).toBe(50);
  });

  it('averages over a run', () => {
    expect(averageRate(5000, 2000)).toBe(2500);
    expect(averageRate(5000, 0)).toBe(0);
  });
});

describe('elapsedMs', () => {
  it('runs from start to finish, or to now while running', () => {
    expect(elapsedMs({ started_at: 1000, finished_at: 4000 }, 9000)).toBe(3000);
    expect(elapsedMs({ started_at: 1000, finished_at: null }, 9000)).toBe(8000);
    expect(elapsedMs({ started_at: null }, 9000)).toBe(0);
  });
});

describe('throughputSeries', () => {
  it('gives seconds since the start and the rate since the previous sample', () => {
    const samples = [sample(1000, 0, 0), sample(1500, 100, 50), sample(2500, 300, 250)];
    expect(throughputSeries(samples, 1000)).toEqual({
      seconds: [0, 0.5, 1.5],
      rowsInPerSecond: [0, 200, 200],
      rowsOutPerSecond: [0, 100, 200],
    });
  });

  it('reads a RunEvent', () => {
    expect(sampleOf({ rows_in: 1, rows_out: 2, bytes_out: 3 }, 7)).toEqual(sample(7, 1, 2, 3));
  });
});
