// Endpoints the server is gaining (issue 19) that web/openapi.json does not list yet, in the
// shape openapi-typescript generates. Delete an entry once `npm run gen` brings it in.
import type { components } from './schema';

type ErrorBody = components['schemas']['ErrorBody'];

type RunRecord = components['schemas']['RunRecord'];
type RunState = components['schemas']['RunState'];

/** A number of runs per state. */
export type StateCounts = Record<RunState, number>;

/** GET /overview: the numbers of /metrics, as JSON (src/server/overview.rs). */
export interface Overview {
  /** When these numbers were taken (ms since the epoch). */
  at: number;
  /** Runs created in the 24 hours before `at`, by state. */
  runs_by_state: StateCounts;
  /** Every run in the metadata store, by state. */
  runs_total_by_state: StateCounts;
  /** The pending and running runs, newest first, with live counters. */
  active_runs: RunRecord[];
  /** Each job's newest run when it failed, the most recent failure first. */
  failed_runs: RunRecord[];
  /** Runs executing in this server. */
  executing: number;
  /** Runs waiting in this server for their time, their job's turn or a worker. */
  queued: number;
  /** Runs this server executes at once at most. */
  workers: number;
  scheduler: {
    running: boolean;
    tick_ms: number;
    ticks: number;
    last_tick_at?: number | null;
    scheduled_jobs: number;
    disabled_jobs: number;
    next_run_at?: number | null;
    next_job?: string | null;
  };
}

/** POST /explain: the optimized logical and physical plans, as `fust explain` prints them. */
export interface Explained {
  plan: string;
}

/** The newest run of a job, as GET /jobs shows it. */
export interface LastRun {
  id: string;
  state: RunState;
  trigger: string;
  created_at: number;
  started_at?: number | null;
  finished_at?: number | null;
  error?: string | null;
}

/** The fields JobView is gaining: `enabled` and `last_run` (absent from an older server). */
export interface JobViewAdditions {
  enabled?: boolean;
  last_run?: LastRun | null;
}

interface YamlBody {
  content: { 'application/yaml': string; 'application/json': Record<string, unknown> };
}

interface JsonResponse<T> {
  headers: Record<string, unknown>;
  content: { 'application/json': T };
}

interface NameParameter {
  parameters: { query?: never; header?: never; path: { name: string }; cookie?: never };
}

interface NoParameters {
  parameters: { query?: never; header?: never; path?: never; cookie?: never };
}

interface EnableOperation extends NameParameter {
  requestBody?: never;
  responses: {
    200: JsonResponse<components['schemas']['JobView']>;
    404: JsonResponse<ErrorBody>;
  };
}

export interface PendingPaths {
  '/overview': NoParameters & {
    get: NoParameters & {
      requestBody?: never;
      responses: { 200: JsonResponse<Overview>; 503: JsonResponse<ErrorBody> };
    };
  };
  '/explain': NoParameters & {
    post: NoParameters & {
      requestBody: YamlBody;
      responses: { 200: JsonResponse<Explained>; 422: JsonResponse<ErrorBody> };
    };
  };
  '/jobs/{name}/enable': NameParameter & { post: EnableOperation };
  '/jobs/{name}/disable': NameParameter & { post: EnableOperation };
}
