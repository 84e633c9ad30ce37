// Whether the console may talk to the API: signed in (or tokens are off), or it must ask for a
// token. Any answer 401 moves it to asking; the sign-in page moves it back.
import { useSyncExternalStore } from 'react';
import { getToken } from '../lib/token';

export type AuthStatus =
  | 'unknown' // not asked yet: the console asks once before it shows a page
  | 'ok' // no 401 seen since the last sign-in (tokens may be off)
  | 'needs-token' // the API answered 401 and this tab has no token
  | 'token-refused'; // the API answered 401 to this tab's token

let status: AuthStatus = 'unknown';
const listeners = new Set<() => void>();

function setStatus(next: AuthStatus): void {
  if (next !== status) {
    status = next;
    listeners.forEach((listener) => listener());
  }
}

/** Called for every answer 401. */
export function reportUnauthorized(): void {
  setStatus(getToken() === null ? 'needs-token' : 'token-refused');
}

/** Called when the server says it needs a token and this tab has none: no request is sent. */
export function reportTokenNeeded(): void {
  setStatus('needs-token');
}

/** Called once a token (or none) has been accepted, or the API could not be asked. */
export function reportSignedIn(): void {
  setStatus('ok');
}

export function authStatus(): AuthStatus {
  return status;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useAuthStatus(): AuthStatus {
  return useSyncExternalStore(subscribe, authStatus);
}
