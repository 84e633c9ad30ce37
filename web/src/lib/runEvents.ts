// Live run events over WebSocket: one run's (`GET /runs/{id}/ws`, closed by the server with
// 1000 after the run ends) or every run's (`GET /events/ws`); the same events as the SSE
// streams. Browsers cannot send an Authorization header with a WebSocket, so the token goes
// as the subprotocol `bearer.<base64url(token)>`.
import type { RunEvent, RunRecord, RunState } from '../api/types';
import { getToken, webSocketProtocols, webSocketUrl } from './token';

const STATES: RunState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

function isRunEvent(value: unknown): value is RunEvent {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const event = value as Record<string, unknown>;
  return (
    typeof event.run_id === 'string' &&
    typeof event.state === 'string' &&
    STATES.includes(event.state as RunState) &&
    typeof event.rows_in === 'number' &&
    typeof event.rows_out === 'number' &&
    typeof event.at === 'number'
  );
}

/**
 * A message of the stream as a RunEvent: the event itself, or an SSE-shaped wrapper
 * `{"event": "state", "data": "<RunEvent as JSON>"}` (or with `data` as an object). Anything
 * else (a keep-alive, another event name) is null.
 */
export function parseRunEvent(message: string): RunEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (isRunEvent(value)) {
    return { ...value, bytes_out: value.bytes_out ?? 0 };
  }
  if (typeof value === 'object' && value !== null && 'data' in value) {
    const wrapper = value as { event?: unknown; data: unknown };
    if (wrapper.event !== undefined && wrapper.event !== 'state') {
      return null;
    }
    return typeof wrapper.data === 'string'
      ? parseRunEvent(wrapper.data)
      : isRunEvent(wrapper.data)
        ? wrapper.data
        : null;
  }
  return null;
}

/** How the live connection is doing. */
export type LiveStatus =
  | 'connecting'
  | 'live' // events arrive over the WebSocket
  | 'ended' // the server closed the stream normally (the run ended, or the server stops)
  | 'unavailable'; // no WebSocket (refused, not offered, dropped): poll instead

export interface LiveHandlers {
  onEvent: (event: RunEvent) => void;
  onStatus: (status: LiveStatus) => void;
}

/** Opens the run's event stream; returns the function that closes it. */
export function openRunEvents(runId: string, handlers: LiveHandlers): () => void {
  return openEvents(`/runs/${encodeURIComponent(runId)}/ws`, handlers);
}

/** Opens the stream of every run's events; returns the function that closes it. */
export function openAllEvents(handlers: LiveHandlers): () => void {
  return openEvents('/events/ws', handlers);
}

function openEvents(path: string, handlers: LiveHandlers): () => void {
  let socket: WebSocket;
  try {
    socket = new WebSocket(webSocketUrl(path, window.location), webSocketProtocols(getToken()));
  } catch {
    handlers.onStatus('unavailable');
    return () => undefined;
  }
  let opened = false;
  let closedByUs = false;
  handlers.onStatus('connecting');
  socket.onopen = () => {
    opened = true;
    handlers.onStatus('live');
  };
  socket.onmessage = (message) => {
    if (typeof message.data !== 'string') {
      return;
    }
    const event = parseRunEvent(message.data);
    if (event !== null) {
      handlers.onEvent(event);
    }
  };
  socket.onclose = (close) => {
    if (closedByUs) {
      return;
    }
    // 1000: the run ended; 1001: the server stops; anything else was a failure.
    handlers.onStatus(opened && (close.code === 1000 || close.code === 1001) ? 'ended' : 'unavailable');
  };
  return () => {
    closedByUs = true;
    socket.close();
  };
}

function isActiveState(state: RunState): boolean {
  return state === 'pending' || state === 'running';
}

/** The record with an event's state and counters applied. */
export function applyEvent(run: RunRecord, event: RunEvent): RunRecord {
  return {
    ...run,
    state: event.state,
    rows_in: event.rows_in,
    rows_out: event.rows_out,
    bytes_out: event.bytes_out,
    error: event.error ?? run.error,
    started_at: run.started_at ?? (event.state === 'running' ? event.at : run.started_at),
    finished_at: isActiveState(event.state) ? run.finished_at : (run.finished_at ?? event.at),
  };
}
