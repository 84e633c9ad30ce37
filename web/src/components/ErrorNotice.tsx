// A failed API call as a message, with a Retry button when the page can try again.
import { ApiError, messageOf } from '../api/errors';

interface Props {
  error: unknown;
  /** What was being done, e.g. "Loading jobs". */
  context?: string;
  onRetry?: () => void;
}

export function ErrorNotice({ error, context, onRetry }: Props) {
  const unreachable = error instanceof ApiError && error.kind === 'unreachable';
  return (
    <div className="notice notice-error" role="alert">
      <p>
        {context !== undefined && <strong>{context} failed: </strong>}
        {messageOf(error)}
      </p>
      {unreachable && <p className="muted">The page retries on its own every few seconds.</p>}
      {onRetry !== undefined && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
