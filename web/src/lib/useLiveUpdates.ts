// Keeps the cached lists fresh from every run's events (`GET /events/ws`): an event updates
// its run in each cached runs list and in the overview's active runs; a run not seen before,
// or a new state, refetches the lists, the jobs and the overview (at most twice a second).
// While events arrive the pages poll slowly; without them they poll as before.
import { useEffect, useSyncExternalStore } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { RunEvent, RunRecord, RunState } from '../api/types';
import type { OverviewView } from './overview';
import { applyEvent, openAllEvents, type LiveStatus } from './runEvents';
import { throttle } from './throttle';

/** After the stream was open and dropped: try again after this long, doubling up to a minute. */
const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 60_000;

let status: LiveStatus = 'connecting';
const listeners = new Set<() => void>();

function setStatus(next: LiveStatus): void {
  if (next !== status) {
    status = next;
    listeners.forEach((listener) => listener());
  }
}

/** Whether every run's events are arriving (`live`). */
export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => status,
  );
}

/** A polling interval: `slow` while events arrive, else `fast`. */
export function pollEvery(live: LiveStatus, fast: number, slow: number): number {
  return live === 'live' ? slow : fast;
}

function patchCaches(queryClient: QueryClient, event: RunEvent): void {
  const patch = (run: RunRecord) => (run.id === event.run_id ? applyEvent(run, event) : run);
  queryClient.setQueriesData<RunRecord[]>({ queryKey: ['runs'] }, (runs) => runs?.map(patch));
  queryClient.setQueryData<OverviewView>(['overview'], (overview) =>
    overview === undefined ? overview : { ...overview, active: overview.active.map(patch) },
  );
}

/** Call once, where the console is signed in. */
export function useLiveUpdates(): void {
  const queryClient = useQueryClient();

  useEffect(() => {
    const knownStates = new Map<string, RunState>();
    const refetchLists = throttle(() => {
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
    }, 500);
    let close: () => void = () => undefined;
    let retryTimer: number | undefined;
    let retryMs = FIRST_RETRY_MS;
    let wasOpen = false;

    function connect() {
      close = openAllEvents({
        onEvent: (event) => {
          patchCaches(queryClient, event);
          if (knownStates.get(event.run_id) !== event.state) {
            knownStates.set(event.run_id, event.state);
            refetchLists();
          }
        },
        onStatus: (next) => {
          setStatus(next);
          if (next === 'live') {
            wasOpen = true;
            retryMs = FIRST_RETRY_MS;
          }
          // A stream that worked and dropped is tried again; one that never opened (a server
          // without /events/ws, a refused token) is not, and the pages keep polling.
          if ((next === 'unavailable' || next === 'ended') && wasOpen) {
            retryTimer = window.setTimeout(connect, retryMs);
            retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
          }
        },
      });
    }
    connect();
    return () => {
      window.clearTimeout(retryTimer);
      refetchLists.cancel();
      close();
    };
  }, [queryClient]);
}
