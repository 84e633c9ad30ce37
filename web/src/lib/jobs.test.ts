import { describe, expect, it } from 'vitest';
import { filterJobs } from './jobs';
import type { JobView } from '../api/types';

function job(name: string, cron: string | null = null, after: string[] = []): JobView {
  return { name, cron, after, enabled: true, version: 1, definition: '', created_at: 0, updated_at: 0 };
}

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
