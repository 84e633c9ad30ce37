import { describe, expect, it } from 'vitest';
import { filterJobs, hasLastRuns, isEnabled, lastRunOf, latestRunByJob } from './jobs';
import type { JobView, RunRecord } from '../api/types';

function job(name: string, cron: string | null = null, after: string[] = []): JobView {
  return { name, cron, after, version: 1, definition: '', created_at: 0, updated_at: 0 };
}

function run(id: string, jobName: string, createdAt: number): RunRecord {
  return {
    id, job: jobName, job_version: 1, state: 'succeeded', trigger: 'api', attempt: 1,
    created_at: createdAt, rows_in: 0, rows_out: 0, bytes_in: 0, bytes_out: 0,
    bad_records: 0, bad_records_by_kind: [],
  };
}

describe('latestRunByJob', () => {
  it('keeps the newest run of each job', () => {
    const latest = latestRunByJob([run('3', 'a', 30), run('2', 'b', 20), run('1', 'a', 10)]);
    expect(latest.get('a')?.id).toBe('3');
    expect(latest.get('b')?.id).toBe('2');
    expect(latest.get('c')).toBeUndefined();
  });
});

describe('filterJobs', () => {
  const jobs = [job('load_customers', '0 * * * *'), job('paid_orders', null, ['load_customers'])];

  it('matches every word in the name, the cron or the after: jobs', () => {
    expect(filterJobs(jobs, '').map((j) => j.name)).toEqual(['load_customers', 'paid_orders']);
    expect(filterJobs(jobs, 'PAID').map((j) => j.name)).toEqual(['paid_orders']);
    expect(filterJobs(jobs, 'customers').map((j) => j.name)).toEqual(['load_customers', 'paid_orders']);
    expect(filterJobs(jobs, 'load 0 *').map((j) => j.name)).toEqual(['load_customers']);
    expect(filterJobs(jobs, 'nothing')).toEqual([]);
  });
});

describe('isEnabled', () => {
  it('reads the enabled field, true when the server has none', () => {
    expect(isEnabled(job('a'))).toBe(true);
    expect(isEnabled({ ...job('a'), enabled: false })).toBe(false);
  });
});

describe('lastRunOf', () => {
  const runs = latestRunByJob([run('9', 'a', 90)]);

  it('takes the job\'s last_run when the server sends it, even null', () => {
    const lastRun = { id: '5', state: 'failed' as const, trigger: 'cron', created_at: 50 };
    expect(lastRunOf({ ...job('a'), last_run: lastRun }, runs)?.id).toBe('5');
    expect(lastRunOf({ ...job('a'), last_run: null }, runs)).toBeUndefined();
    expect(hasLastRuns([{ ...job('a'), last_run: null }])).toBe(true);
  });

  it('falls back to the runs list for an older server', () => {
    expect(lastRunOf(job('a'), runs)?.id).toBe('9');
    expect(lastRunOf(job('b'), runs)).toBeUndefined();
    expect(hasLastRuns([job('a')])).toBe(false);
  });
});
