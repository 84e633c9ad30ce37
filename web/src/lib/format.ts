// Numbers, sizes, times and durations as the pages show them.

/** 1234567 → "1,234,567". */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** Bytes in binary units: 0 B, 512 B, 1.5 KiB, 20.0 MiB, … */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${Math.max(0, Math.round(ms))} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours === 0) {
    return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  }
  return `${hours} h ${String(minutes).padStart(2, '0')} min`;
}

/** A rate: 950 rows/s, 12.4k rows/s, 3.10M rows/s. */
export function formatRate(perSecond: number, unit = 'rows/s'): string {
  if (perSecond >= 1_000_000) {
    return `${(perSecond / 1_000_000).toFixed(2)}M ${unit}`;
  }
  if (perSecond >= 10_000) {
    return `${(perSecond / 1000).toFixed(1)}k ${unit}`;
  }
  return `${Math.round(perSecond)} ${unit}`;
}

/** A moment (ms since the epoch) in the browser's zone: "2026-12-07 14:05:09". */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) {
    return '—';
  }
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** How long ago or from now: "in 5 min", "3 h ago", "just now". */
export function formatRelative(ms: number, now: number): string {
  const delta = ms - now;
  const magnitude = Math.abs(delta);
  if (magnitude < 5_000) {
    return 'just now';
  }
  let text: string;
  if (magnitude < 60_000) {
    text = `${Math.round(magnitude / 1000)} s`;
  } else if (magnitude < 3_600_000) {
    text = `${Math.round(magnitude / 60_000)} min`;
  } else if (magnitude < 86_400_000) {
    text = `${Math.round(magnitude / 3_600_000)} h`;
  } else {
    text = `${Math.round(magnitude / 86_400_000)} d`;
  }
  return delta > 0 ? `in ${text}` : `${text} ago`;
}
