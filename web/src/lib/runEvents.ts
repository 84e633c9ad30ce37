// Live events of one run over the WebSocket `GET /runs/{id}/ws` (the same events as the SSE
// stream `GET /runs/{id}/events`). Browsers cannot send an Authorization header with a
// WebSocket, so the token goes as the subprotocol `bearer.<base64url(token)>`.
import type { RunEvent, RunState } from '../api/types';
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
  | 'ended' // the server closed the stream (the run ended)
  | 'unavailable'; // no WebSocket (refused, not offered, dropped): poll instead

export interface LiveHandlers {
  onEvent: (event: RunEvent) => void;
  onStatus: (status: LiveStatus) => void;
}

/** Opens the run's event stream; returns the function that closes it. */
export function openRunEvents(runId: string, handlers: LiveHandlers): () => void {
  let socket: WebSocket;
  try {
    socket = new WebSocket(
      webSocketUrl(`/runs/${encodeURIComponent(runId)}/ws`, window.location),
      webSocketProtocols(getToken()),
    );
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
    // 1000: the server ended the stream because the run ended; anything else was a failure.
    handlers.onStatus(opened && close.code === 1000 ? 'ended' : 'unavailable');
  };
  return () => {
    closedByUs = true;
    socket.close();
  };
}
