// The typed API client (openapi-fetch over the schema generated from openapi.json) and one
// function per call the console makes. Every function throws an ApiError on failure.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import type {
  Explained, JobVersion, JobView, LogLine, Overview, PluginView, PreviewBody, Problem, RunRecord, RunState,
  Validated,
} from './types';
import { failureFromResponse, messageOf, unreachable } from './errors';
import { reportUnauthorized } from './auth';
import { authHeaders, getToken } from '../lib/token';

const authMiddleware: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authHeaders(getToken()))) {
      request.headers.set(name, value);
    }
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) {
      reportUnauthorized();
    }
    return response;
  },
};

/** The client; the API shares the console's origin. */
export const api = createClient<paths>({
  baseUrl: typeof window === 'undefined' ? '' : window.location.origin,
});
api.use(authMiddleware);

/** What every openapi-fetch call resolves to. */
interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call; an ApiError otherwise, including when there was no answer. */
async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') {
      throw error;
    }
    throw unreachable(messageOf(error));
  }
  if (!result.response.ok) {
    throw failureFromResponse(result.response.status, result.error);
  }
  return result.data as T;
}

/** Options that send a job's text as YAML (the body is passed through, not JSON-encoded). */
function yamlBody(yaml: string, signal?: AbortSignal) {
  return {
    body: yaml as never,
    bodySerializer: (body: unknown) => body as string,
    headers: { 'Content-Type': 'application/yaml' },
    signal,
  };
}

export function listJobs(): Promise<JobView[]> {
  return unwrap(api.GET('/jobs'));
}

export function getJob(name: string): Promise<JobView> {
  return unwrap(api.GET('/jobs/{name}', { params: { path: { name } } }));
}

/** Creates the job or stores a new version of it. */
export function saveJob(name: string, yaml: string): Promise<JobView> {
  return unwrap(api.PUT('/jobs/{name}', { params: { path: { name } }, ...yamlBody(yaml) }));
}

/** Every stored version of the job's definition, as the server lists them. */
export function jobVersions(name: string): Promise<JobVersion[]> {
  return unwrap(api.GET('/jobs/{name}/versions', { params: { path: { name } } }));
}

export async function deleteJob(name: string): Promise<void> {
  await unwrap(api.DELETE('/jobs/{name}', { params: { path: { name } } }));
}

/** Queues a run of the job (state `pending`). */
export function triggerRun(name: string): Promise<RunRecord> {
  return unwrap(api.POST('/jobs/{name}/runs', { params: { path: { name } } }));
}

/** Lets the scheduler start the job (enabled) or not (disabled); manual runs work either way. */
export function setJobEnabled(name: string, enabled: boolean): Promise<JobView> {
  const path = enabled ? '/jobs/{name}/enable' : '/jobs/{name}/disable';
  return unwrap(api.POST(path, { params: { path: { name } } }));
}

export interface RunFilter {
  job?: string;
  state?: RunState;
  limit?: number;
}

/** Runs, newest first. */
export function listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
  const query = {
    job: filter.job,
    state: filter.state,
    limit: filter.limit === undefined ? undefined : String(filter.limit),
  };
  return unwrap(api.GET('/runs', { params: { query } }));
}

export function getRun(id: string): Promise<RunRecord> {
  return unwrap(api.GET('/runs/{id}', { params: { path: { id } } }));
}

export async function cancelRun(id: string): Promise<void> {
  await unwrap(api.POST('/runs/{id}/cancel', { params: { path: { id } } }));
}

/** The run's log lines after sequence number `after` (all when 0). */
export function runLogs(id: string, after: number): Promise<LogLine[]> {
  return unwrap(
    api.GET('/runs/{id}/logs', { params: { path: { id }, query: { after: String(after) } } }),
  );
}

export function listPlugins(): Promise<PluginView[]> {
  return unwrap(api.GET('/plugins'));
}

export function getOverview(): Promise<Overview> {
  return unwrap(api.GET('/overview'));
}

/**
 * The problems of a job's YAML: empty when it is valid. Other failures throw. `report=true` has
 * an invalid job answered 200 with its problems, so typing logs no 422 in the browser console.
 */
export async function validateJob(yaml: string, signal?: AbortSignal): Promise<Problem[]> {
  const validated: Validated = await unwrap(
    api.POST('/validate', { params: { query: { report: true } }, ...yamlBody(yaml, signal) }),
  );
  if (validated.ok) {
    return [];
  }
  const problems = validated.problems ?? [];
  return problems.length > 0
    ? problems
    : [{ key: '', message: validated.error ?? 'The server did not accept the job.' }];
}

/** Whether the server needs a token; asked without one (`/health` is public). */
export async function tokenRequired(): Promise<boolean> {
  const health = await unwrap(api.GET('/health'));
  return health.token_required;
}

export function previewJob(yaml: string, limit: number, signal?: AbortSignal): Promise<PreviewBody> {
  return unwrap(
    api.POST('/preview', { params: { query: { limit: String(limit) } }, ...yamlBody(yaml, signal) }),
  );
}

export function explainJob(yaml: string, signal?: AbortSignal): Promise<Explained> {
  return unwrap(api.POST('/explain', yamlBody(yaml, signal)));
}
