// Signing in with the server's token, a refused token, tokens off, and a server that stopped
// answering: each a clear message on the page, never a blank one.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { axeViolations, screenshot, browserHooks, startServer } from './harness';

const { server, open } = browserHooks();

describe('sign-in', () => {
  test('a wrong token is refused with a message; the right one opens the overview', async () => {
    const session = await open({ signedIn: false });
    // /health tells the tab that tokens are on, so no request goes out without one; the
    // wrong token is answered 401 on purpose.
    session.expectStatus(401);
    const { page } = session;
    await session.goto('/');
    await page.getByRole('heading', { name: 'Sign in to Fust' }).waitFor();
    expect.soft(await axeViolations(page, 'sign-in')).toEqual([]);

    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('The server refused this token');
    await screenshot(page, 'sign-in-refused');

    await page.getByLabel('API token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
    // Kept for the tab: a reload needs no sign-in.
    await page.reload();
    await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
  });

  test('with tokens off there is no sign-in', async () => {
    const own = await startServer(null, 'no-tokens');
    try {
      const session = await open({ signedIn: false }, own);
      const { page } = session;
      await session.goto('/');
      await page.getByRole('heading', { name: 'Runs in the last 24 hours' }).waitFor();
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Jobs', exact: true }).click();
      await page.getByText('No jobs yet.').waitFor();
    } finally {
      await own.stop();
    }
  });

  test('a server that stopped answering is a message on the page, not a blank page', async () => {
    const token = randomBytes(12).toString('hex');
    const own = await startServer(token, 'unreachable');
    try {
      const session = await open({}, own);
      const { page } = session;
      await session.goto('/jobs');
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      await page.getByText('No jobs yet.').waitFor();
      await own.stop();

      // The browser logs each refused connection (requests and the live-events socket).
      const before = session.errors.length;
      await page.getByRole('link', { name: 'Runs', exact: true }).click();
      const notice = page.getByRole('alert').filter({ hasText: 'Cannot reach the Fust API' });
      await notice.waitFor();
      expect(await notice.textContent()).toContain('Is `fust serve` running');
      expect(await page.getByRole('heading', { name: 'Runs', level: 1 }).isVisible()).toBe(true);
      await screenshot(page, 'unreachable');
      const unexpected = session.errors
        .slice(before)
        .filter((error) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(error));
      session.errors.splice(before, session.errors.length - before, ...unexpected);
    } finally {
      await own.stop();
    }
  });
});
