// Facts about jobs the lists show: each job's latest run, and the search box's filter.
import type { JobView, RunRecord, RunState } from '../api/types';

/** The newest run of each job among `runs` (which the API lists newest first). */
export function latestRunByJob(runs: RunRecord[]): Map<string, RunRecord> {
  const latest = new Map<string, RunRecord>();
  for (const run of runs) {
    const known = latest.get(run.job);
    if (known === undefined || run.created_at > known.created_at) {
      latest.set(run.job, run);
    }
  }
  return latest;
}

/** Jobs whose name, cron or `after:` jobs contain every word of `query` (any case). */
export function filterJobs(jobs: JobView[], query: string): JobView[] {
  const words = query.toLowerCase().split(/\s+/).filter((word) => word !== '');
  if (words.length === 0) {
    return jobs;
  }
  return jobs.filter((job) => {
    const text = [job.name, job.cron ?? '', ...job.after].join(' ').toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** Whether the scheduler may start the job; a server without the `enabled` field runs all. */
export function isEnabled(job: JobView): boolean {
  return job.enabled ?? true;
}

/** What the jobs list shows of a run. */
export interface RunSummary {
  id: string;
  state: RunState;
  created_at: number;
}

/**
 * The job's newest run: its `last_run` (one request for the whole list), or, from a server
 * whose jobs have none, the newest among `runs`.
 */
export function lastRunOf(job: JobView, runs: Map<string, RunRecord>): RunSummary | undefined {
  if (job.last_run !== undefined) {
    return job.last_run ?? undefined;
  }
  return runs.get(job.name);
}

/** Whether the server lists each job's `last_run` (so the runs list is not needed). */
export function hasLastRuns(jobs: JobView[]): boolean {
  return jobs.some((job) => job.last_run !== undefined);
}
