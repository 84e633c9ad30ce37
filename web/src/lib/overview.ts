// The overview page's numbers: runs by state over the last 24 h, active runs, failed runs that
// need attention, the scheduler. From GET /overview; from the runs and jobs lists when the
// server is older and has no /overview.
import type { Overview } from '../api/pending';
import type { JobView, RunRecord, RunState } from '../api/types';
import { formatTime } from './format';
import { isEnabled } from './jobs';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const RUN_STATES: RunState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

export interface OverviewView {
  byState: Record<RunState, number>;
  active: RunRecord[];
  needsAttention: RunRecord[];
  /** The scheduler's facts as label and value. */
  scheduler: Array<[string, string]>;
  /** Computed in the browser from /runs and /jobs (the server has no /overview). */
  derived: boolean;
}

function zeroByState(): Record<RunState, number> {
  return { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

/** `scheduled_jobs` → "Scheduled jobs". */
function label(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A scheduler value as text: times (keys ending in `_at`) as times, booleans as yes/no. */
function valueText(key: string, value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'boolean') {
    return value ? 'yes' : 'no';
  }
  if (typeof value === 'number' && key.endsWith('_at')) {
    return formatTime(value);
  }
  if (typeof value === 'number' || typeof value === 'string') {
    return String(value);
  }
  return JSON.stringify(value);
}

export function fromServer(overview: Overview): OverviewView {
  const byState = zeroByState();
  for (const state of RUN_STATES) {
    byState[state] = overview.runs_by_state?.[state] ?? 0;
  }
  return {
    byState,
    active: overview.active_runs ?? [],
    needsAttention: overview.failed_runs ?? [],
    scheduler: Object.entries(overview.scheduler ?? {}).map(([key, value]) => [label(key), valueText(key, value)]),
    derived: false,
  };
}

/** The same from the runs (newest first) and jobs lists. */
export function deriveOverview(runs: RunRecord[], jobs: JobView[], now: number): OverviewView {
  const byState = zeroByState();
  for (const run of runs) {
    if (now - run.created_at <= DAY_MS) {
      byState[run.state] += 1;
    }
  }
  const active = runs.filter((run) => run.state === 'pending' || run.state === 'running');
  // A job needs attention when its latest run failed.
  const seen = new Set<string>();
  const needsAttention: RunRecord[] = [];
  for (const run of [...runs].sort((a, b) => b.created_at - a.created_at)) {
    if (!seen.has(run.job)) {
      seen.add(run.job);
      if (run.state === 'failed') {
        needsAttention.push(run);
      }
    }
  }
  const scheduled = jobs.filter((job) => job.cron !== null && job.cron !== undefined && isEnabled(job));
  const next = scheduled
    .filter((job) => job.next_run_at !== null && job.next_run_at !== undefined)
    .sort((a, b) => (a.next_run_at as number) - (b.next_run_at as number))[0];
  const scheduler: Array<[string, string]> = [
    ['Jobs', String(jobs.length)],
    ['On a cron schedule', String(scheduled.length)],
    ['Run after other jobs', String(jobs.filter((job) => job.after.length > 0).length)],
    ['Next scheduled run', next === undefined ? '—' : `${next.name} at ${formatTime(next.next_run_at)}`],
    ['Runs waiting', String(active.filter((run) => run.state === 'pending').length)],
    ['Runs running', String(active.filter((run) => run.state === 'running').length)],
  ];
  return { byState, active, needsAttention, scheduler, derived: true };
}
