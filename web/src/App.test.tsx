// The console against a stubbed API: the sign-in after a 401, a refused token, and the message
// when the API cannot be reached.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';

const TOKEN = 's3cret';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** An API with tokens on: every call without `Bearer s3cret` is refused. */
function apiWithToken(request: Request): Response {
  if (request.headers.get('Authorization') !== `Bearer ${TOKEN}`) {
    return json(401, { error: 'missing or wrong bearer token: send `Authorization: Bearer <token>`' });
  }
  const path = new URL(request.url).pathname;
  if (path === '/jobs' || path === '/runs') {
    return json(200, []);
  }
  return json(404, { error: 'no such endpoint' });
}

async function renderApp() {
  // A fresh module graph per test: the sign-in state lives in a module.
  vi.resetModules();
  const { default: App } = await import('./App');
  render(<App />);
}

describe('App', () => {
  beforeEach(() => {
    sessionStorage.clear();
    window.location.hash = '#/jobs';
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('asks for a token after a 401, keeps it for the tab and sends it', async () => {
    const fetch = vi.fn(async (request: Request) => apiWithToken(request));
    vi.stubGlobal('fetch', fetch);
    await renderApp();

    expect(await screen.findByRole('heading', { name: 'Sign in to Fust' })).toBeTruthy();
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: TOKEN } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Jobs' })).toBeTruthy();
    expect(await screen.findByText(/No jobs yet/)).toBeTruthy();
    expect(sessionStorage.getItem('fust.token')).toBe(TOKEN);
    const last = fetch.mock.calls.at(-1)![0];
    expect(last.headers.get('Authorization')).toBe(`Bearer ${TOKEN}`);
  });

  it('says so when the token is refused, and keeps asking', async () => {
    vi.stubGlobal('fetch', vi.fn(async (request: Request) => apiWithToken(request)));
    await renderApp();

    fireEvent.change(await screen.findByLabelText('API token'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByText(/refused this token/)).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Sign in to Fust' })).toBeTruthy();
    expect(sessionStorage.getItem('fust.token')).toBeNull();
  });

  it('works without a token when the server has none', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(200, [])));
    await renderApp();
    expect(await screen.findByText(/No jobs yet/)).toBeTruthy();
    expect(screen.queryByText('Sign in to Fust')).toBeNull();
  });

  it('shows a message, not a blank page, when the API cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }));
    await renderApp();
    const alert = await screen.findByRole('alert', {}, { timeout: 4000 });
    expect(alert.textContent).toContain('Cannot reach the Fust API (Failed to fetch)');
    expect(screen.getByRole('heading', { name: 'Jobs' })).toBeTruthy();
  });
});
