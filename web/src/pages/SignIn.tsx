// Sign-in: asks for the API token after a 401 and keeps it for this tab (sessionStorage).
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { listJobs } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { reportSignedIn, type AuthStatus } from '../api/auth';
import { clearToken, setToken } from '../lib/token';

export function SignIn({ status }: { status: AuthStatus }) {
  const queryClient = useQueryClient();
  const [token, setTokenText] = useState('');
  const [checking, setChecking] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function signIn(event: React.FormEvent) {
    event.preventDefault();
    setChecking(true);
    setFailure(null);
    setToken(token);
    try {
      await listJobs();
      reportSignedIn();
      await queryClient.resetQueries();
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'unauthorized') {
        clearToken();
        setFailure('The server refused this token. Check it (one of the server\'s auth_tokens) and try again.');
      } else {
        setFailure(messageOf(error));
      }
    } finally {
      setChecking(false);
    }
  }

  return (
    <main id="content" className="sign-in">
      <h1>Sign in to Fust</h1>
      {status === 'token-refused' && failure === null ? (
        <p className="notice notice-error" role="alert">
          The server refused the token this tab had. Sign in again.
        </p>
      ) : (
        <p>This server needs an API token (one of its <code>auth_tokens</code>).</p>
      )}
      <form onSubmit={signIn}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(event) => setTokenText(event.target.value)}
          required
          autoFocus
        />
        <button type="submit" className="primary" disabled={checking || token.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {failure !== null && (
        <p className="notice notice-error" role="alert">
          {failure}
        </p>
      )}
      <p className="muted">The token is kept for this browser tab only, and forgotten when it closes.</p>
    </main>
  );
}
