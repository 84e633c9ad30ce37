// A run's log lines, fetched in pieces (`?after=` the last line seen) every second while the
// run is active, and once more when it ends.
import { useEffect, useRef, useState } from 'react';
import { runLogs } from '../api/client';
import type { LogLine } from '../api/types';

export interface RunLogs {
  lines: LogLine[];
  /** Lines dropped from the start to keep at most MAX_LINES. */
  dropped: number;
  error: unknown;
}

const POLL_MS = 1000;
/** The server's default page of log lines. */
const PAGE = 1000;
const MAX_PAGES_A_POLL = 20;
/** The page keeps the newest this many lines. */
export const MAX_LINES = 5000;

/** The lines of a page that come after `lastSeq` (a page may repeat a line already seen). */
export function linesAfter(page: LogLine[], lastSeq: number): LogLine[] {
  return page.filter((line) => line.seq > lastSeq);
}

/** `known` and `fresh`, keeping the newest `max` lines; `dropped` counts the ones let go. */
export function appendLines(
  known: { lines: LogLine[]; dropped: number },
  fresh: LogLine[],
  max = MAX_LINES,
): { lines: LogLine[]; dropped: number } {
  const all = known.lines.concat(fresh);
  const over = Math.max(0, all.length - max);
  return { lines: over === 0 ? all : all.slice(over), dropped: known.dropped + over };
}

/** For one run: the page is mounted afresh for another run (keyed by its id). */
export function useRunLogs(runId: string, active: boolean): RunLogs {
  const [log, setLog] = useState({ lines: [] as LogLine[], dropped: 0 });
  const [error, setError] = useState<unknown>(null);
  const lastSeq = useRef(0);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    async function fetchMore() {
      try {
        // The server returns at most PAGE lines a call: keep asking while pages come back full.
        for (let page = 0; page < MAX_PAGES_A_POLL; page += 1) {
          const more = await runLogs(runId, lastSeq.current);
          if (stopped) {
            return;
          }
          const fresh = linesAfter(more, lastSeq.current);
          if (fresh.length > 0) {
            lastSeq.current = fresh[fresh.length - 1].seq;
            setLog((known) => appendLines(known, fresh));
          }
          if (more.length < PAGE) {
            break;
          }
        }
        setError(null);
      } catch (failure) {
        if (!stopped) {
          setError(failure);
        }
      }
      if (active && !stopped) {
        timer = window.setTimeout(fetchMore, POLL_MS);
      }
    }
    void fetchMore();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [runId, active]);

  return { lines: log.lines, dropped: log.dropped, error };
}
