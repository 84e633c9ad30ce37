// The overview: runs by state over the last 24 h, active runs, failed runs that need
// attention, and the scheduler's status.
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { getOverview, triggerRun } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Page';
import { StateBadge } from '../components/StateBadge';
import { formatCount } from '../lib/format';
import { overviewView, RUN_STATES, type OverviewView } from '../lib/overview';
import { useNow } from '../lib/useNow';
import { pollEvery, useLiveStatus } from '../lib/useLiveUpdates';
import { RunsTable } from './Runs';

async function loadOverview(): Promise<OverviewView> {
  return overviewView(await getOverview());
}

export function OverviewPage() {
  const now = useNow(1000);
  const live = useLiveStatus();
  const overview = useQuery({
    queryKey: ['overview'],
    queryFn: loadOverview,
    // The scheduler's numbers change without run events, so poll even while they arrive.
    refetchInterval: pollEvery(live, 3000, 10_000),
  });
  const view = overview.data;
  const [, navigate] = useLocation();
  const retry = useMutation({ mutationFn: triggerRun, onSuccess: (run) => navigate(`/runs/${run.id}`) });

  return (
    <Page title="Overview" wide>
      {overview.error !== null && <ErrorNotice error={overview.error} context="Loading the overview" onRetry={() => void overview.refetch()} />}
      {overview.isPending && <p className="muted">Loading…</p>}
      {view !== undefined && (
        <>
          <section aria-labelledby="by-state">
            <h2 id="by-state">Runs in the last 24 hours</h2>
            <ul className="cards">
              {RUN_STATES.map((state) => (
                <li key={state} className={`card card-${state}`}>
                  <span className="card-number">{formatCount(view.byState[state])}</span>
                  <StateBadge state={state} />
                  <span className="muted small">{formatCount(view.totalByState[state])} all time</span>
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="active">
            <h2 id="active">Active runs</h2>
            {view.active.length === 0 ? (
              <p className="muted">Nothing is running.</p>
            ) : (
              <RunsTable runs={view.active} now={now} showJob />
            )}
          </section>
          <section aria-labelledby="attention">
            <h2 id="attention">Failed runs that need attention</h2>
            {retry.error !== null && <ErrorNotice error={retry.error} context="Retry" />}
            {view.needsAttention.length === 0 ? (
              <p className="muted">No job's latest run failed.</p>
            ) : (
              <ul className="attention">
                {view.needsAttention.map((run) => (
                  <li key={run.id}>
                    <Link href={`/runs/${run.id}`} className="strong">{run.job}</Link>{' '}
                    <StateBadge state={run.state} />{' '}
                    <button type="button" onClick={() => retry.mutate(run.job)} disabled={retry.isPending} aria-label={`Retry ${run.job}`}>
                      Retry
                    </button>
                    {run.error !== null && run.error !== undefined && <p className="error-text small">{run.error}</p>}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="scheduler">
            <h2 id="scheduler">Scheduler</h2>
            <dl className="stats">
              {view.scheduler.map(([label, value]) => (
                <div key={label} className="stat">
                  <dt>{label}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
          </section>
        </>
      )}
    </Page>
  );
}
