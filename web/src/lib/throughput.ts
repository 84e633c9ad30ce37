// Throughput of a run from its events: the counters sampled over time, the rate between
// samples, and the series the run page's chart draws.

/** The counters of a run at one moment (from a RunEvent or a RunRecord). */
export interface Sample {
  /** ms since the epoch */
  at: number;
  rowsIn: number;
  rowsOut: number;
  bytesOut: number;
}

/** At most this many samples are kept per run (two a second: half an hour), oldest dropped. */
export const MAX_SAMPLES = 3600;

/**
 * `samples` with `next` appended. A sample not newer than the last one replaces it when it is
 * at the same moment and is dropped when it is older (events can arrive twice: from the
 * stream and from a reload).
 */
export function appendSample(samples: Sample[], next: Sample, max = MAX_SAMPLES): Sample[] {
  const last = samples[samples.length - 1];
  if (last !== undefined && next.at < last.at) {
    return samples;
  }
  const kept = last !== undefined && next.at === last.at ? samples.slice(0, -1) : samples.slice();
  kept.push(next);
  return kept.length > max ? kept.slice(kept.length - max) : kept;
}

/** Per second between two samples; 0 when no time passed or a counter went back (a retry). */
export function ratePerSecond(from: Sample, to: Sample, counter: 'rowsIn' | 'rowsOut' | 'bytesOut'): number {
  const seconds = (to.at - from.at) / 1000;
  const delta = to[counter] - from[counter];
  if (seconds <= 0 || delta < 0) {
    return 0;
  }
  return delta / seconds;
}

/**
 * The rate now: from the newest sample back to the oldest one within `windowMs` of it (two
 * seconds smooths the twice-a-second updates). 0 with fewer than two samples.
 */
export function currentRate(
  samples: Sample[],
  counter: 'rowsIn' | 'rowsOut' | 'bytesOut',
  windowMs = 2000,
): number {
  if (samples.length < 2) {
    return 0;
  }
  const newest = samples[samples.length - 1];
  let oldest = samples[samples.length - 2];
  for (let i = samples.length - 2; i >= 0 && newest.at - samples[i].at <= windowMs; i -= 1) {
    oldest = samples[i];
  }
  return ratePerSecond(oldest, newest, counter);
}

/** Rows per second over a whole run. */
export function averageRate(rows: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : rows / (elapsedMs / 1000);
}

/** How long a run has been running (or ran): start to finish, or to `now` while it runs. */
export function elapsedMs(
  run: { started_at?: number | null; finished_at?: number | null },
  now: number,
): number {
  if (run.started_at === null || run.started_at === undefined) {
    return 0;
  }
  const end = run.finished_at ?? now;
  return Math.max(0, end - run.started_at);
}

/** The chart's data: seconds since `start`, and rows in and out per second at each sample. */
export interface ThroughputSeries {
  seconds: number[];
  rowsInPerSecond: number[];
  rowsOutPerSecond: number[];
}

export function throughputSeries(samples: Sample[], start: number): ThroughputSeries {
  const series: ThroughputSeries = { seconds: [], rowsInPerSecond: [], rowsOutPerSecond: [] };
  samples.forEach((sample, i) => {
    series.seconds.push((sample.at - start) / 1000);
    const previous = i === 0 ? undefined : samples[i - 1];
    series.rowsInPerSecond.push(previous === undefined ? 0 : ratePerSecond(previous, sample, 'rowsIn'));
    series.rowsOutPerSecond.push(previous === undefined ? 0 : ratePerSecond(previous, sample, 'rowsOut'));
  });
  return series;
}

/** A sample from a RunEvent or RunRecord's counters. */
export function sampleOf(
  counters: { rows_in: number; rows_out: number; bytes_out: number },
  at: number,
): Sample {
  return { at, rowsIn: counters.rows_in, rowsOut: counters.rows_out, bytesOut: counters.bytes_out };
}
