import { describe, expect, it } from 'vitest';
import { parseRunEvent } from './runEvents';

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
