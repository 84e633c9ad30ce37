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
  /** All time, by state (absent when computed in the browser). */
  totalByState?: Record<RunState, number>;
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

/** The overview as the server computes it. */
export function fromServer(overview: Overview): OverviewView {
  const scheduler = overview.scheduler;
  const next =
    scheduler.next_run_at === null || scheduler.next_run_at === undefined
      ? '—'
      : `${scheduler.next_job ?? 'a job'} at ${formatTime(scheduler.next_run_at)}`;
  return {
    byState: { ...zeroByState(), ...overview.runs_by_state },
    totalByState: { ...zeroByState(), ...overview.runs_total_by_state },
    active: overview.active_runs,
    needsAttention: overview.failed_runs,
    scheduler: [
      ['Scheduler', scheduler.running ? 'running' : 'stopped'],
      ['Jobs on a cron schedule', String(scheduler.scheduled_jobs)],
      ['Disabled jobs', String(scheduler.disabled_jobs)],
      ['Next scheduled run', next],
      ['Last pass over the jobs', formatTime(scheduler.last_tick_at)],
      ['Passes (every ' + scheduler.tick_ms + ' ms)', String(scheduler.ticks)],
      ['Runs executing', `${overview.executing} of ${overview.workers} workers`],
      ['Runs queued', String(overview.queued)],
    ],
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
