// A run's state as a labelled badge (the colour repeats the word; it never replaces it).
import type { RunState } from '../api/types';

export function StateBadge({ state }: { state: RunState | null | undefined }) {
  if (state === null || state === undefined) {
    return <span className="muted">never run</span>;
  }
  return <span className={`badge badge-${state}`}>{state}</span>;
}

export function isActive(state: RunState): boolean {
  return state === 'pending' || state === 'running';
}
