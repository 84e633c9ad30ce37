// API failures as messages a person can act on: what went wrong and what to do.
import type { Problem } from './types';

/** What kind of failure it was, so pages can react (sign in again, underline problems, …). */
export type FailureKind =
  | 'unreachable' // no answer from fust serve (down, wrong address, a proxy without a backend)
  | 'unauthorized' // 401: no token, or the token was refused
  | 'forbidden' // 403: a write from another origin, and the like
  | 'not-found' // 404
  | 'conflict' // 409: the job exists, the run has finished
  | 'invalid' // 422: the job is invalid; `problems` hold where
  | 'timeout' // 504 from the server: /preview or /validate ran over preview_timeout
  | 'server'; // anything else

/** A failed API call. */
export class ApiError extends Error {
  readonly kind: FailureKind;
  /** HTTP status, or 0 when there was no answer. */
  readonly status: number;
  /** For an invalid job: every problem with its position (may be empty). */
  readonly problems: Problem[];

  constructor(kind: FailureKind, status: number, message: string, problems: Problem[] = []) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.problems = problems;
  }
}

/** The `{"error": …, "problems": […]}` body the server sends, when `body` is one. */
function errorBody(body: unknown): { error?: string; problems: Problem[] } {
  if (typeof body !== 'object' || body === null) {
    return { problems: [] };
  }
  const record = body as { error?: unknown; problems?: unknown };
  return {
    error: typeof record.error === 'string' && record.error !== '' ? record.error : undefined,
    problems: Array.isArray(record.problems) ? (record.problems as Problem[]) : [],
  };
}

/** Whether the response came from the Fust API (its errors are JSON `{"error": …}`). */
function fromFust(body: unknown): boolean {
  return errorBody(body).error !== undefined;
}

/** An answer with an error status, as an ApiError with the server's message when it sent one. */
export function failureFromResponse(status: number, body: unknown): ApiError {
  const { error, problems } = errorBody(body);
  switch (status) {
    case 401:
      return new ApiError(
        'unauthorized',
        status,
        error ?? 'The API needs a token: sign in with one of the server\'s auth_tokens.',
      );
    case 403:
      return new ApiError('forbidden', status, error ?? 'The server refused this request (403).');
    case 404:
      return new ApiError('not-found', status, error ?? 'Not found (404).');
    case 409:
      return new ApiError('conflict', status, error ?? 'Conflict (409).');
    case 413:
      return new ApiError(
        'server',
        status,
        error ?? 'The job is larger than the server accepts (its body_limit).',
      );
    case 422:
      return new ApiError('invalid', status, error ?? 'The job is invalid.', problems);
    case 502:
    case 503:
    case 504:
      // A 5xx without Fust's JSON body is a proxy (or Vite's dev server) with no fust serve behind it.
      if (!fromFust(body)) {
        return unreachable(`the proxy answered ${status}`);
      }
      return new ApiError(status === 504 ? 'timeout' : 'server', status, error!);
    default:
      return new ApiError('server', status, error ?? `The server answered ${status}.`, problems);
  }
}

/** No answer at all: fust serve is down, or the page is not served by it. */
export function unreachable(detail?: string): ApiError {
  const why = detail === undefined || detail === '' ? '' : ` (${detail})`;
  return new ApiError(
    'unreachable',
    0,
    `Cannot reach the Fust API${why}. Is \`fust serve\` running, and is this page served by it?`,
  );
}

/** Any thrown value as a message for the page. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
