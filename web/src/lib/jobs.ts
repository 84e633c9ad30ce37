// The jobs list's search box.
import type { JobView } from '../api/types';

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
