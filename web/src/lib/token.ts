// The API token: kept in sessionStorage (one per browser tab, gone when the tab closes), sent
// as `Authorization: Bearer`, and as a WebSocket subprotocol where browsers cannot set headers.
import { base64url } from './base64url';

const STORAGE_KEY = 'fust.token';

/** The token this tab signed in with, or null when none was given (tokens may be off). */
export function getToken(): string | null {
  try {
    const token = sessionStorage.getItem(STORAGE_KEY);
    return token === null || token === '' ? null : token;
  } catch {
    // Storage can be unavailable (a sandboxed frame); the console then works without a token.
    return null;
  }
}

/** Keeps `token` for this tab; an empty or blank token clears it. */
export function setToken(token: string): void {
  const trimmed = token.trim();
  try {
    if (trimmed === '') {
      sessionStorage.removeItem(STORAGE_KEY);
    } else {
      sessionStorage.setItem(STORAGE_KEY, trimmed);
    }
  } catch {
    // See getToken.
  }
}

export function clearToken(): void {
  setToken('');
}

/** The `Authorization` header for `token`, or no header without one. */
export function authHeaders(token: string | null): Record<string, string> {
  return token === null ? {} : { Authorization: `Bearer ${token}` };
}

/**
 * The subprotocols a browser WebSocket offers: `fust`, plus `bearer.<base64url(token)>`
 * (unpadded) when a token is set, because a browser cannot send an Authorization header
 * when it opens a WebSocket.
 */
export function webSocketProtocols(token: string | null): string[] {
  return token === null ? ['fust'] : ['fust', `bearer.${base64url(token)}`];
}

/** The ws:// or wss:// URL of an API path on the page's own origin. */
export function webSocketUrl(path: string, location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}
