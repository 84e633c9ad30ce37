// Endpoints the server is gaining (issue 19) that web/openapi.json does not list yet, in the
// shape openapi-typescript generates. Delete an entry once `npm run gen` brings it in.
import type { components } from './schema';

type ErrorBody = components['schemas']['ErrorBody'];

/** GET /overview: what the overview page shows (the numbers /metrics exposes). */
export interface Overview {
  /** Runs created in the last 24 h, by state. */
  runs_by_state?: Partial<Record<components['schemas']['RunState'], number>>;
  /** Pending and running runs. */
  active_runs?: components['schemas']['RunRecord'][];
  /** Failed runs whose job has not succeeded since. */
  failed_runs?: components['schemas']['RunRecord'][];
  /** The scheduler and the worker pool. */
  scheduler?: Record<string, unknown>;
}

/** POST /explain: the job's plan. */
export type Explained = { plan?: string } & Record<string, unknown>;

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
