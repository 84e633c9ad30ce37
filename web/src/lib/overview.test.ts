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
  it('fills missing states with 0 and labels the scheduler facts', () => {
    const view = fromServer({
      runs_by_state: { succeeded: 4 },
      scheduler: { running: true, workers: 4, queue_depth: 0, last_tick_at: null },
    });
    expect(view.byState).toEqual({ pending: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    expect(view.scheduler).toEqual([
      ['Running', 'yes'], ['Workers', '4'], ['Queue depth', '0'], ['Last tick at', '—'],
    ]);
    expect(view.active).toEqual([]);
    expect(view.derived).toBe(false);
  });
});
