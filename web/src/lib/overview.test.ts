import { describe, expect, it } from 'vitest';
import { overviewView } from './overview';
import type { RunRecord, RunState } from '../api/types';

function run(id: string, job: string, state: RunState, createdAt: number): RunRecord {
  return {
    id, job, state, job_version: 1, trigger: 'api', attempt: 1, created_at: createdAt,
    rows_in: 0, rows_out: 0, bytes_in: 0, bytes_out: 0, bad_records: 0, bad_records_by_kind: [],
  };
}

const zero = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
const overview = {
  at: 1000,
  runs_by_state: { ...zero, succeeded: 4 },
  runs_total_by_state: { ...zero, succeeded: 40, failed: 2 },
  active_runs: [run('7', 'a', 'running', 1000)],
  failed_runs: [run('6', 'b', 'failed', 990)],
  executing: 1,
  queued: 0,
  workers: 4,
  scheduler: {
    running: true, tick_ms: 1000, ticks: 12, last_tick_at: null,
    scheduled_jobs: 2, disabled_jobs: 1, next_run_at: null, next_job: null,
  },
};

describe('overviewView', () => {
  it('takes the counts and the runs', () => {
    const view = overviewView(overview);
    expect(view.byState.succeeded).toBe(4);
    expect(view.totalByState.failed).toBe(2);
    expect(view.active.map((r) => r.id)).toEqual(['7']);
    expect(view.needsAttention.map((r) => r.id)).toEqual(['6']);
  });

  it('describes the scheduler and the workers', () => {
    const facts = Object.fromEntries(overviewView(overview).scheduler);
    expect(facts['Scheduler']).toBe('running');
    expect(facts['Disabled jobs']).toBe('1');
    expect(facts['Next scheduled run']).toBe('—');
    expect(facts['Last pass over the jobs']).toBe('—');
    expect(facts['Passes (every 1000 ms)']).toBe('12');
    expect(facts['Runs executing']).toBe('1 of 4 workers');
    expect(facts['Runs queued']).toBe('0');
  });

  it('names the next scheduled job', () => {
    const next = new Date(2026, 11, 8, 2, 0, 0).getTime();
    const view = overviewView({ ...overview, scheduler: { ...overview.scheduler, next_run_at: next, next_job: 'nightly' } });
    expect(Object.fromEntries(view.scheduler)['Next scheduled run']).toBe('nightly at 2026-12-08 02:00:00');
  });
});
