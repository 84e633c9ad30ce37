// One run: live state and counters, rows/s, elapsed time, a throughput chart, its logs, its
// error; Cancel while it is active, Retry (a new run of the job) once it has ended.
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { cancelRun, triggerRun } from '../api/client';
import { messageOf } from '../api/errors';
import type { LogLine, RunRecord } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Page';
import { isActive, StateBadge } from '../components/StateBadge';
import { formatBytes, formatCount, formatDuration, formatRate, formatTime } from '../lib/format';
import type { LiveStatus } from '../lib/runEvents';
import { averageRate, currentRate, elapsedMs, type Sample } from '../lib/throughput';
import { useNow } from '../lib/useNow';
import { useRunLive } from '../lib/useRunLive';
import { useRunLogs } from '../lib/useRunLogs';

const ThroughputChart = lazy(() => import('../components/ThroughputChart'));

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  ended: 'stream ended',
  unavailable: 'polling every second',
};

export function RunPage({ id }: { id: string }) {
  const { run, error, refetch, status, samples } = useRunLive(id);
  const active = run === undefined || isActive(run.state);
  const logs = useRunLogs(id, active);
  const now = useNow(500, active);
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [actionError, setActionError] = useState<string | null>(null);

  const cancel = useMutation({
    mutationFn: () => cancelRun(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['run', id] }),
    onError: (failure) => setActionError(`Cancel failed: ${messageOf(failure)}`),
  });
  const retry = useMutation({
    mutationFn: (job: string) => triggerRun(job),
    onSuccess: (next) => navigate(`/runs/${next.id}`),
    onError: (failure) => setActionError(`Retry failed: ${messageOf(failure)}`),
  });

  if (run === undefined) {
    return (
      <Page title={`Run ${id.slice(0, 8)}`}>
        {error !== null ? <ErrorNotice error={error} context="Loading the run" onRetry={refetch} /> : <p className="muted">Loading…</p>}
      </Page>
    );
  }

  const actions = (
    <>
      {isActive(run.state) && (
        <button type="button" className="danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
          {cancel.isPending ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {!isActive(run.state) && (
        <button type="button" onClick={() => retry.mutate(run.job)} disabled={retry.isPending}>
          Retry
        </button>
      )}
      <Link href={`/jobs/${encodeURIComponent(run.job)}`} className="button">Edit job</Link>
      <Link href={`/jobs/${encodeURIComponent(run.job)}/runs`} className="button">Runs of {run.job}</Link>
    </>
  );

  return (
    <Page title={`Run of ${run.job}`} actions={actions} wide>
      <p className="run-heading">
        <StateBadge state={run.state} /> <span className="mono small" title="Run id">{run.id}</span>
        {active && <span className="muted small"> · {LIVE_TEXT[status]}</span>}
      </p>
      {actionError !== null && <p className="notice notice-error" role="alert">{actionError}</p>}
      {error !== null && <ErrorNotice error={error} context="Refreshing the run" />}
      <RunStats run={run} samples={samples} now={now} />
      {run.error !== null && run.error !== undefined && run.error !== '' && (
        <section aria-labelledby="run-error">
          <h2 id="run-error">{run.state === 'cancelled' ? 'Why it was cancelled' : 'Error'}</h2>
          <pre className="error-text">{run.error}</pre>
        </section>
      )}
      {run.bad_records_by_kind.length > 0 && (
        <section aria-labelledby="bad-records">
          <h2 id="bad-records">Bad records</h2>
          <table className="table">
            <thead>
              <tr><th scope="col">Stage</th><th scope="col">Kind</th><th scope="col" className="number">Count</th></tr>
            </thead>
            <tbody>
              {run.bad_records_by_kind.map((bad) => (
                <tr key={`${bad.stage}/${bad.kind}`}>
                  <td>{bad.stage}</td><td>{bad.kind}</td><td className="number">{formatCount(bad.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section aria-labelledby="throughput">
        <h2 id="throughput">Throughput</h2>
        {samples.length >= 2 ? (
          <Suspense fallback={<div className="chart muted">Loading the chart…</div>}>
            <ThroughputChart samples={samples} start={run.started_at ?? samples[0].at} />
          </Suspense>
        ) : (
          <p className="muted">
            {active
              ? 'The chart fills in while the run runs.'
              : 'The chart is drawn from live events; this run ended before the page watched it.'}
          </p>
        )}
      </section>
      <section aria-labelledby="logs">
        <h2 id="logs">Log</h2>
        {logs.error !== null && <ErrorNotice error={logs.error} context="Loading the log" />}
        {logs.dropped > 0 && (
          <p className="muted small">The first {formatCount(logs.dropped)} lines are not shown; the page keeps the newest {formatCount(logs.lines.length)}.</p>
        )}
        <LogView lines={logs.lines} follow={active} />
      </section>
    </Page>
  );
}

function RunStats({ run, samples, now }: { run: RunRecord; samples: Sample[]; now: number }) {
  const elapsed = elapsedMs(run, now);
  const active = isActive(run.state);
  const rate = active && samples.length >= 2 ? currentRate(samples, 'rowsIn') : averageRate(run.rows_in, elapsed);
  const stats: Array<[string, React.ReactNode]> = [
    ['Elapsed', run.started_at === null || run.started_at === undefined ? 'not started' : formatDuration(elapsed)],
    [active ? 'Rows/s now' : 'Rows/s (average)', formatRate(rate)],
    ['Rows in', formatCount(run.rows_in)],
    ['Rows out', formatCount(run.rows_out)],
    ['Bytes in', formatBytes(run.bytes_in)],
    ['Bytes out', formatBytes(run.bytes_out)],
    ['Bad records', formatCount(run.bad_records)],
    ['Created', formatTime(run.created_at)],
    ['Started', formatTime(run.started_at)],
    ['Finished', formatTime(run.finished_at)],
    ['Trigger', `${run.trigger}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}`],
    ['Job version', String(run.job_version)],
  ];
  if (run.target !== null && run.target !== undefined) {
    stats.push(['Output', run.target]);
  }
  return (
    <dl className="stats" aria-live="off">
      {stats.map(([label, value]) => (
        <div key={label} className="stat">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function LogView({ lines, follow }: { lines: LogLine[]; follow: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (follow && element !== null) {
      element.scrollTop = element.scrollHeight;
    }
  }, [lines, follow]);
  if (lines.length === 0) {
    return <p className="muted">No log lines yet.</p>;
  }
  return (
    <div ref={box} className="log" tabIndex={0} role="log" aria-label="Run log">
      {lines.map((line) => (
        <div key={line.seq} className={`log-line log-${line.level}`}>
          <span className="log-time">{formatTime(line.at).slice(11)}</span>{' '}
          <span className="log-level">{line.level}</span> {line.message}
        </div>
      ))}
    </div>
  );
}
