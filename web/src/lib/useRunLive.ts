// A run as it changes: its record (GET /runs/{id}), updated by the live WebSocket events, or
// polled every second when no WebSocket is available; and the counters sampled over time for
// the rate and the chart.
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { getRun } from '../api/client';
import type { RunRecord } from '../api/types';
import { isActive } from '../components/StateBadge';
import { applyEvent, openRunEvents, type LiveStatus } from './runEvents';
import { appendSample, sampleOf, type Sample } from './throughput';

export interface RunLive {
  run: RunRecord | undefined;
  error: unknown;
  refetch: () => void;
  status: LiveStatus;
  samples: Sample[];
}

/** For one run: the page is mounted afresh for another run (keyed by its id). */
export function useRunLive(runId: string): RunLive {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [samples, setSamples] = useState<Sample[]>([]);

  const query = useQuery({
    queryKey: ['run', runId],
    queryFn: async () => {
      const run = await getRun(runId);
      // Every polled record of an active run is a sample too.
      if (isActive(run.state)) {
        setSamples((known) => appendSample(known, sampleOf(run, Date.now())));
      }
      return run;
    },
    // Poll while the run is active and the WebSocket is not carrying its events.
    refetchInterval: (q) =>
      q.state.data !== undefined && isActive(q.state.data.state) && status !== 'live' ? 1000 : false,
  });
  // Events are asked for only once the run is known to be pending or running.
  const active = query.data !== undefined && isActive(query.data.state);

  useEffect(() => {
    if (!active) {
      return undefined;
    }
    return openRunEvents(runId, {
      onEvent: (event) => {
        setSamples((known) => appendSample(known, sampleOf(event, event.at)));
        queryClient.setQueryData<RunRecord>(['run', runId], (run) => (run === undefined ? run : applyEvent(run, event)));
        if (!isActive(event.state)) {
          // The final record has what events do not carry (bytes in, bad records, finish time).
          void queryClient.invalidateQueries({ queryKey: ['run', runId] });
        }
      },
      onStatus: (next) => {
        setStatus(next);
        if (next === 'ended') {
          void queryClient.invalidateQueries({ queryKey: ['run', runId] });
        }
      },
    });
    // Reconnect only for another run, or when an ended run is re-queued (it never is).
  }, [runId, active, queryClient]);

  return { run: query.data, error: query.error, refetch: () => void query.refetch(), status, samples };
}
