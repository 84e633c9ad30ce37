// The console's shell: header, navigation, the sign-in gate and the hash routes
// (`/#/jobs`: the API owns the real paths /jobs, /runs, … on the same origin).
import { lazy, Suspense, useEffect } from 'react';
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { Link, Route, Router, Switch, useLocation } from 'wouter';
import { useHashLocation } from 'wouter/use-hash-location';
import { ApiError } from './api/errors';
import { reportSignedIn, reportTokenNeeded, useAuthStatus } from './api/auth';
import { listJobs, tokenRequired } from './api/client';
import { clearToken, getToken } from './lib/token';
import { useTheme } from './lib/theme';
import { useLiveUpdates } from './lib/useLiveUpdates';
import { SignIn } from './pages/SignIn';
import { ErrorBoundary } from './components/ErrorBoundary';
import { OverviewPage } from './pages/Overview';
import { JobsPage } from './pages/Jobs';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/RunPage';

// The editor (CodeMirror) and the designer (React Flow, forms) load only when opened.
const JobEditorPage = lazy(() => import('./editor/JobEditorPage'));

/** Retries a failed query once, except when retrying cannot help. */
function shouldRetry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError && error.kind !== 'unreachable' && error.kind !== 'server') {
    return false;
  }
  return failures < 1;
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: shouldRetry, staleTime: 2000 },
    mutations: { retry: false },
  },
});

function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const [location] = useLocation();
  const current = href === '/' ? location === '/' : location === href || location.startsWith(`${href}/`);
  return (
    <Link href={href} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function Header() {
  const [theme, toggleTheme] = useTheme();
  const signedIn = getToken() !== null;
  return (
    <header className="app-header">
      <a className="skip-link" href="#content" onClick={(event) => {
        event.preventDefault();
        document.getElementById('content')?.focus();
      }}>
        Skip to content
      </a>
      <Link href="/" className="brand">Fust</Link>
      <nav aria-label="Main">
        <NavLink href="/">Overview</NavLink>
        <NavLink href="/jobs">Jobs</NavLink>
        <NavLink href="/runs">Runs</NavLink>
        <NavLink href="/new">New job</NavLink>
      </nav>
      <div className="header-tools">
        <button
          type="button"
          onClick={toggleTheme}
          aria-label={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
          title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        {signedIn && (
          <button
            type="button"
            onClick={() => {
              clearToken();
              window.location.reload();
            }}
          >
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <main id="content" tabIndex={-1}>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link href="/">Go to the overview.</Link>
      </p>
    </main>
  );
}

function Routes() {
  const [location] = useLocation();
  return (
    // A new route starts with a fresh boundary, so one page's failure does not stick.
    <ErrorBoundary key={location}>
      <Suspense fallback={<main id="content" tabIndex={-1}><p className="muted">Loading…</p></main>}>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/jobs" component={JobsPage} />
          <Route path="/new">{() => <JobEditorPage key="new" name={null} />}</Route>
          <Route path="/jobs/:name/runs">{(params) => <RunsPage job={decodeURIComponent(params.name)} />}</Route>
          <Route path="/jobs/:name">{(params) => <JobEditorPage key={params.name} name={decodeURIComponent(params.name)} />}</Route>
          <Route path="/runs">{() => <RunsPage job={null} />}</Route>
          <Route path="/runs/:id">{(params) => <RunPage key={params.id} id={params.id} />}</Route>
          <Route component={NotFound} />
        </Switch>
      </Suspense>
    </ErrorBoundary>
  );
}

/**
 * Asks the API once whether this tab may use it before any page loads. A server with tokens and
 * a tab without one shows the sign-in at once (`/health` says tokens are on; no request is
 * refused); otherwise one request tells, so a wrong token is one 401, not one per request.
 */
function useAccessCheck(status: string) {
  const client = useQueryClient();
  useEffect(() => {
    if (status !== 'unknown') {
      return;
    }
    const askFirst = getToken() === null ? tokenRequired().catch(() => false) : Promise.resolve(false);
    askFirst
      .then((needed) => {
        if (needed) {
          reportTokenNeeded();
          return;
        }
        return listJobs().then((jobs) => {
          // The answer is the jobs list: the jobs page need not ask again.
          client.setQueryData(['jobs'], jobs);
          reportSignedIn();
        });
      })
      .catch((error: unknown) => {
        // A 401 has already moved the status to asking for a token (the client's middleware);
        // any other failure is shown by the pages themselves.
        if (!(error instanceof ApiError && error.kind === 'unauthorized')) {
          reportSignedIn();
        }
      });
  }, [status, client]);
}

/** Listens to every run's events while signed in (see useLiveUpdates). */
function LiveUpdates() {
  useLiveUpdates();
  return null;
}

function Gate() {
  const status = useAuthStatus();
  useAccessCheck(status);
  if (status === 'unknown') {
    return <main id="content" tabIndex={-1} className="page"><p className="muted">Connecting…</p></main>;
  }
  if (status !== 'ok') {
    return <SignIn status={status} />;
  }
  return (
    <>
      <LiveUpdates />
      <Routes />
    </>
  );
}

export default function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <Router hook={useHashLocation}>
        <Header />
        <Gate />
      </Router>
    </QueryClientProvider>
  );
}
