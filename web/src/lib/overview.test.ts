import { describe, expect, it } from 'vitest';
import { DAY_MS, deriveOverview, fromServer } from './overview';
import type { JobView, RunRecord, RunState } from '../api/types';

function run(id: string, job: string, state: RunState, createdAt: number): RunRecord {
  return {
    id, job, state, job_version: 1, trigger: 'api', attempt: 1, created_at: createdAt,
    rows_in: 0, rows_out: 0, bytes_in: 0, bytes_out: 0, bad_records: 0, bad_records_by_kind: [],
  };
}

function job(name: string, cron: string | null, nextRunAt: number | null = null, after: string[] = []): JobView {
  return { name, cron, next_run_at: nextRunAt, after, version: 1, definition: '', created_at: 0, updated_at: 0 };
}

const now = 10 * DAY_MS;

describe('deriveOverview', () => {
  const runs = [
    run('6', 'a', 'running', now - 1000),
    run('5', 'b', 'pending', now - 2000),
    run('4', 'c', 'failed', now - 3000),
    run('3', 'a', 'failed', now - 4000),
    run('2', 'd', 'failed', now - 2 * DAY_MS),
    run('1', 'c', 'succeeded', now - 2 * DAY_MS - 1),
  ];
  const jobs = [job('a', '0 * * * *', now + 60_000), job('b', null, null, ['a']), job('c', '*/5 * * * *', now + 5000), job('d', null)];
  const overview = deriveOverview(runs, jobs, now);

  it('counts the runs of the last 24 h by state', () => {
    expect(overview.byState).toEqual({ pending: 1, running: 1, succeeded: 0, failed: 2, cancelled: 0 });
    expect(overview.derived).toBe(true);
  });

  it('lists active runs, and the failed latest run of each job', () => {
    expect(overview.active.map((r) => r.id)).toEqual(['6', '5']);
    // a's latest run is running (its failure is behind it); c and d's latest runs failed.
    expect(overview.needsAttention.map((r) => r.id)).toEqual(['4', '2']);
  });

  it('describes the scheduler', () => {
    const facts = Object.fromEntries(overview.scheduler);
    expect(facts['On a cron schedule']).toBe('2');
    expect(facts['Run after other jobs']).toBe('1');
    expect(facts['Next scheduled run']).toMatch(/^c at /);
    expect(facts['Runs waiting']).toBe('1');
  });
});

describe('fromServer', () => {
  it('takes the counts and describes the scheduler and workers', () => {
    const zero = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    const view = fromServer({
      at: now,
      runs_by_state: { ...zero, succeeded: 4 },
      runs_total_by_state: { ...zero, succeeded: 40, failed: 2 },
      active_runs: [run('7', 'a', 'running', now)],
      failed_runs: [run('6', 'b', 'failed', now - 10)],
      executing: 1,
      queued: 0,
      workers: 4,
      scheduler: {
        running: true, tick_ms: 1000, ticks: 12, last_tick_at: null,
        scheduled_jobs: 2, disabled_jobs: 1, next_run_at: null, next_job: null,
      },
    });
    expect(view.byState.succeeded).toBe(4);
    expect(view.totalByState?.failed).toBe(2);
    expect(view.active.map((r) => r.id)).toEqual(['7']);
    expect(view.needsAttention.map((r) => r.id)).toEqual(['6']);
    const facts = Object.fromEntries(view.scheduler);
    expect(facts['Scheduler']).toBe('running');
    expect(facts['Disabled jobs']).toBe('1');
    expect(facts['Next scheduled run']).toBe('—');
    expect(facts['Last pass over the jobs']).toBe('—');
    expect(facts['Runs executing']).toBe('1 of 4 workers');
    expect(view.derived).toBe(false);
  });
});
