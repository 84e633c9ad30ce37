// The jobs list: schedule, enabled, last run, next run, dependencies; run now, enable or
// disable, edit, delete (after a confirmation); a search box.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { deleteJob, listJobs, setJobEnabled, triggerRun } from '../api/client';
import { messageOf } from '../api/errors';
import type { JobView, LastRun } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Page';
import { StateBadge } from '../components/StateBadge';
import { formatRelative, formatTime } from '../lib/format';
import { filterJobs } from '../lib/jobs';
import { useNow } from '../lib/useNow';
import { pollEvery, useLiveStatus } from '../lib/useLiveUpdates';

/** What the last action did, for the status line above the table. */
interface Outcome {
  ok: boolean;
  message: string;
  runId?: string;
}

function jobHref(name: string): string {
  return `/jobs/${encodeURIComponent(name)}`;
}

export function JobsPage() {
  const queryClient = useQueryClient();
  const now = useNow(10_000);
  const [search, setSearch] = useState('');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [toDelete, setToDelete] = useState<string | null>(null);

  const live = useLiveStatus();
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: listJobs, refetchInterval: pollEvery(live, 5000, 30_000) });

  const refresh = () => queryClient.invalidateQueries({ queryKey: ['jobs'] });
  const fail = (action: string) => (error: unknown) =>
    setOutcome({ ok: false, message: `${action} failed: ${messageOf(error)}` });

  const run = useMutation({
    mutationFn: triggerRun,
    onSuccess: (record) => {
      setOutcome({ ok: true, message: `Queued a run of ${record.job}.`, runId: record.id });
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      void refresh();
    },
    onError: fail('Run'),
  });
  const toggle = useMutation({
    mutationFn: ({ name, enabled }: { name: string; enabled: boolean }) => setJobEnabled(name, enabled),
    onSuccess: (_job, { name, enabled }) => {
      setOutcome({ ok: true, message: `${name} is ${enabled ? 'enabled' : 'disabled'}.` });
      void refresh();
    },
    onError: fail('Changing the job'),
  });
  const remove = useMutation({
    mutationFn: deleteJob,
    onSuccess: (_nothing, name) => {
      setOutcome({ ok: true, message: `Deleted ${name} (its runs and versions stay in the history).` });
      void refresh();
    },
    onError: fail('Delete'),
  });

  const shown = filterJobs(jobs.data ?? [], search);

  return (
    <Page title="Jobs" actions={<Link href="/new" className="button primary">New job</Link>}>
      <div className="toolbar">
        <label htmlFor="job-search">Search jobs</label>
        <input
          id="job-search"
          type="search"
          value={search}
          placeholder="name, cron or dependency"
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      <div role="status" aria-live="polite">
        {outcome !== null && (
          <p className={outcome.ok ? 'notice' : 'notice notice-error'}>
            {outcome.message}{' '}
            {outcome.runId !== undefined && <Link href={`/runs/${outcome.runId}`}>Watch the run</Link>}
          </p>
        )}
      </div>
      {jobs.error !== null && <ErrorNotice error={jobs.error} context="Loading the jobs" onRetry={() => void jobs.refetch()} />}
      {jobs.isPending && <p className="muted">Loading jobs…</p>}
      {jobs.data !== undefined && jobs.data.length === 0 && (
        <p>
          No jobs yet. <Link href="/new">Write the first one.</Link>
        </p>
      )}
      {jobs.data !== undefined && jobs.data.length > 0 && shown.length === 0 && (
        <p className="muted">No job matches “{search}”.</p>
      )}
      {shown.length > 0 && (
        <table className="table responsive-table">
          <caption className="visually-hidden">Jobs</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Schedule</th>
              <th scope="col">Enabled</th>
              <th scope="col">Last run</th>
              <th scope="col">Next run</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {shown.map((job) => (
              <JobRow
                key={job.name}
                job={job}
                lastRun={job.last_run ?? undefined}
                now={now}
                busy={run.isPending || toggle.isPending || remove.isPending}
                onRun={() => run.mutate(job.name)}
                onToggle={() => toggle.mutate({ name: job.name, enabled: !job.enabled })}
                onDelete={() => setToDelete(job.name)}
              />
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={toDelete !== null}
        title={`Delete ${toDelete ?? ''}?`}
        confirmLabel="Delete"
        onCancel={() => setToDelete(null)}
        onConfirm={() => {
          if (toDelete !== null) {
            remove.mutate(toDelete);
          }
          setToDelete(null);
        }}
      >
        <p>
          The job stops being scheduled. Its runs and its versions stay in the history.
        </p>
      </ConfirmDialog>
    </Page>
  );
}

interface RowProps {
  job: JobView;
  lastRun: LastRun | undefined;
  now: number;
  busy: boolean;
  onRun: () => void;
  onToggle: () => void;
  onDelete: () => void;
}

function JobRow({ job, lastRun, now, busy, onRun, onToggle, onDelete }: RowProps) {
  const enabled = job.enabled;
  return (
    <tr>
      <td data-label="Name">
        <Link href={jobHref(job.name)} className="strong">{job.name}</Link>
        {job.after.length > 0 && (
          <div className="muted small">
            after:{' '}
            {job.after.map((name, i) => (
              <span key={name}>
                {i > 0 && ', '}
                <Link href={jobHref(name)}>{name}</Link>
              </span>
            ))}
          </div>
        )}
      </td>
      <td data-label="Schedule">
        {job.cron !== null && job.cron !== undefined ? <code>{job.cron}</code> : <span className="muted">{job.after.length > 0 ? 'after its dependencies' : 'manual'}</span>}
      </td>
      <td data-label="Enabled">{enabled ? 'yes' : <span className="badge badge-cancelled">disabled</span>}</td>
      <td data-label="Last run">
        {lastRun === undefined ? (
          <StateBadge state={null} />
        ) : (
          <Link href={`/runs/${lastRun.id}`} title={formatTime(lastRun.created_at)}>
            <StateBadge state={lastRun.state} /> {formatRelative(lastRun.created_at, now)}
          </Link>
        )}
      </td>
      <td data-label="Next run">
        {job.next_run_at !== null && job.next_run_at !== undefined && enabled ? (
          <span title={formatTime(job.next_run_at)}>{formatRelative(job.next_run_at, now)}</span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="row-actions">
        <button type="button" onClick={onRun} disabled={busy} aria-label={`Run now: ${job.name}`}>
          Run now
        </button>
        <button type="button" onClick={onToggle} disabled={busy} aria-label={`${enabled ? 'Disable' : 'Enable'} ${job.name}`}>
          {enabled ? 'Disable' : 'Enable'}
        </button>
        <Link href={`/jobs/${encodeURIComponent(job.name)}/runs`} className="button" aria-label={`Runs of ${job.name}`}>
          Runs
        </Link>
        <button type="button" className="danger" onClick={onDelete} disabled={busy} aria-label={`Delete ${job.name}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}
