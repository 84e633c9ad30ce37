import { describe, expect, it } from 'vitest';
import {
  formatBytes, formatCount, formatDuration, formatRate, formatRelative, formatTime,
} from './format';

describe('format', () => {
  it('counts', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(0)).toBe('0');
  });

  it('bytes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
  });

  it('durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
    expect(formatDuration(-5)).toBe('0 ms');
  });

  it('rates', () => {
    expect(formatRate(950.4)).toBe('950 rows/s');
    expect(formatRate(12_400)).toBe('12.4k rows/s');
    expect(formatRate(3_100_000)).toBe('3.10M rows/s');
  });

  it('times', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime(new Date(2026, 11, 7, 14, 5, 9).getTime())).toBe('2026-12-07 14:05:09');
  });

  it('relative times', () => {
    const now = 1_000_000_000;
    expect(formatRelative(now + 1000, now)).toBe('just now');
    expect(formatRelative(now + 300_000, now)).toBe('in 5 min');
    expect(formatRelative(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatRelative(now - 30_000, now)).toBe('30 s ago');
    expect(formatRelative(now - 2 * 86_400_000, now)).toBe('2 d ago');
  });
});
