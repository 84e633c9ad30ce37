// The overview page's numbers from GET /overview: runs by state over the last 24 h (and all
// time), active runs, failed runs that need attention, the scheduler and the workers.
import type { Overview, RunRecord, RunState } from '../api/types';
import { formatTime } from './format';

export const RUN_STATES: RunState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

export interface OverviewView {
  byState: Record<RunState, number>;
  totalByState: Record<RunState, number>;
  active: RunRecord[];
  needsAttention: RunRecord[];
  /** The scheduler's and workers' facts as label and value. */
  scheduler: Array<[string, string]>;
}

export function overviewView(overview: Overview): OverviewView {
  const scheduler = overview.scheduler;
  const next =
    scheduler.next_run_at === null || scheduler.next_run_at === undefined
      ? '—'
      : `${scheduler.next_job ?? 'a job'} at ${formatTime(scheduler.next_run_at)}`;
  return {
    byState: overview.runs_by_state,
    totalByState: overview.runs_total_by_state,
    active: overview.active_runs,
    needsAttention: overview.failed_runs,
    scheduler: [
      ['Scheduler', scheduler.running ? 'running' : 'stopped'],
      ['Jobs on a cron schedule', String(scheduler.scheduled_jobs)],
      ['Disabled jobs', String(scheduler.disabled_jobs)],
      ['Next scheduled run', next],
      ['Last pass over the jobs', formatTime(scheduler.last_tick_at)],
      [`Passes (every ${scheduler.tick_ms} ms)`, String(scheduler.ticks)],
      ['Runs executing', `${overview.executing} of ${overview.workers} workers`],
      ['Runs queued', String(overview.queued)],
    ],
  };
}
