// The runs list, across jobs or for one job: state, started, duration, rows, bytes, bad records.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { listRuns } from '../api/client';
import type { RunRecord, RunState } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Page';
import { isActive, StateBadge } from '../components/StateBadge';
import { formatBytes, formatCount, formatDuration, formatTime } from '../lib/format';
import { elapsedMs } from '../lib/throughput';
import { useNow } from '../lib/useNow';
import { pollEvery, useLiveStatus } from '../lib/useLiveUpdates';

const STATES: RunState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

export function RunsPage({ job }: { job: string | null }) {
  const [state, setState] = useState<RunState | ''>('');
  const live = useLiveStatus();
  const runs = useQuery({
    queryKey: ['runs', { job, state }],
    queryFn: () => listRuns({ job: job ?? undefined, state: state === '' ? undefined : state, limit: 200 }),
    // Events patch the rows while they arrive; without them, poll (fast while a run is active).
    refetchInterval: (query) =>
      pollEvery(live, query.state.data?.some((run) => isActive(run.state)) ? 1000 : 5000, 30_000),
  });
  const anyActive = runs.data?.some((run) => isActive(run.state)) ?? false;
  const now = useNow(1000, anyActive);

  return (
    <Page
      title={job === null ? 'Runs' : `Runs of ${job}`}
      actions={job !== null && <Link href={`/jobs/${encodeURIComponent(job)}`} className="button">Edit {job}</Link>}
    >
      <div className="toolbar">
        <label htmlFor="run-state">State</label>
        <select id="run-state" value={state} onChange={(event) => setState(event.target.value as RunState | '')}>
          <option value="">any</option>
          {STATES.map((name) => (
            <option key={name} value={name}>{name}</option>
          ))}
        </select>
        {job !== null && <Link href="/runs">All jobs' runs</Link>}
      </div>
      {runs.error !== null && <ErrorNotice error={runs.error} context="Loading the runs" onRetry={() => void runs.refetch()} />}
      {runs.isPending && <p className="muted">Loading runs…</p>}
      {runs.data !== undefined && runs.data.length === 0 && <p className="muted">No runs{state === '' ? '' : ` ${state}`} yet.</p>}
      {runs.data !== undefined && runs.data.length > 0 && <RunsTable runs={runs.data} now={now} showJob={job === null} />}
    </Page>
  );
}

export function RunsTable({ runs, now, showJob }: { runs: RunRecord[]; now: number; showJob: boolean }) {
  return (
    <table className="table responsive-table">
      <caption className="visually-hidden">Runs</caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          {showJob && <th scope="col">Job</th>}
          <th scope="col">State</th>
          <th scope="col">Started</th>
          <th scope="col" className="number">Duration</th>
          <th scope="col" className="number">Rows in</th>
          <th scope="col" className="number">Rows out</th>
          <th scope="col" className="number">Bytes in / out</th>
          <th scope="col" className="number">Bad records</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id}>
            <td data-label="Run">
              <Link href={`/runs/${run.id}`} className="mono" title={run.id}>{run.id.slice(0, 8)}</Link>
              <div className="muted small">{run.trigger}{run.attempt > 1 ? `, attempt ${run.attempt}` : ''}</div>
            </td>
            {showJob && (
              <td data-label="Job">
                <Link href={`/jobs/${encodeURIComponent(run.job)}/runs`}>{run.job}</Link>
              </td>
            )}
            <td data-label="State"><StateBadge state={run.state} /></td>
            <td data-label="Started">{formatTime(run.started_at ?? run.created_at)}</td>
            <td data-label="Duration" className="number">
              {run.started_at === null || run.started_at === undefined ? '—' : formatDuration(elapsedMs(run, now))}
            </td>
            <td data-label="Rows in" className="number">{formatCount(run.rows_in)}</td>
            <td data-label="Rows out" className="number">{formatCount(run.rows_out)}</td>
            <td data-label="Bytes in / out" className="number">{formatBytes(run.bytes_in)} / {formatBytes(run.bytes_out)}</td>
            <td data-label="Bad records" className="number">
              {run.bad_records > 0 ? <strong className="warn">{formatCount(run.bad_records)}</strong> : '0'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
