import { describe, expect, it } from 'vitest';
import { applyEvent, parseRunEvent } from './runEvents';
import type { RunEvent, RunRecord } from '../api/types';

const event = {
  run_id: 'r1', job: 'paid_orders', state: 'running', rows_in: 10, rows_out: 8, bytes_out: 100, at: 5,
};

describe('parseRunEvent', () => {
  it('reads a RunEvent', () => {
    expect(parseRunEvent(JSON.stringify(event))).toEqual(event);
    expect(parseRunEvent(JSON.stringify({ ...event, state: 'failed', error: 'boom' }))?.error).toBe('boom');
  });

  it('reads an SSE-shaped wrapper', () => {
    expect(parseRunEvent(JSON.stringify({ event: 'state', data: JSON.stringify(event) }))).toEqual(event);
    expect(parseRunEvent(JSON.stringify({ event: 'state', data: event }))).toEqual(event);
    expect(parseRunEvent(JSON.stringify({ data: event }))).toEqual(event);
  });

  it('ignores anything else', () => {
    expect(parseRunEvent('not json')).toBeNull();
    expect(parseRunEvent('"ping"')).toBeNull();
    expect(parseRunEvent(JSON.stringify({ event: 'keepalive', data: event }))).toBeNull();
    expect(parseRunEvent(JSON.stringify({ ...event, state: 'exploded' }))).toBeNull();
    expect(parseRunEvent(JSON.stringify({ run_id: 'r1' }))).toBeNull();
  });
});

describe('applyEvent', () => {
  const record: RunRecord = {
    id: 'r1', job: 'paid_orders', job_version: 1, state: 'pending', trigger: 'api', attempt: 1,
    created_at: 1, started_at: null, finished_at: null, rows_in: 0, rows_out: 0, bytes_in: 0,
    bytes_out: 0, bad_records: 0, bad_records_by_kind: [], error: null,
  };

  it('takes the state and counters, and the start when it starts running', () => {
    const running = applyEvent(record, { ...event, state: 'running', at: 5 } as RunEvent);
    expect(running).toMatchObject({ state: 'running', rows_in: 10, rows_out: 8, bytes_out: 100, started_at: 5, finished_at: null });
    const later = applyEvent(running, { ...event, state: 'running', rows_in: 20, at: 9 } as RunEvent);
    expect(later).toMatchObject({ rows_in: 20, started_at: 5 });
  });

  it('marks the end and keeps the error of a failed run', () => {
    const failed = applyEvent({ ...record, started_at: 2 }, { ...event, state: 'failed', error: 'boom', at: 7 } as RunEvent);
    expect(failed).toMatchObject({ state: 'failed', error: 'boom', started_at: 2, finished_at: 7 });
    expect(failed.bytes_in).toBe(0);
  });
});
