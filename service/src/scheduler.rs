//! The cron scheduler: starts runs of jobs whose `schedule.cron` came due, applying each
//! job's overlap policy and its policy for times missed while the server was down.
//!
//! The last cron time handled per job is kept in the metadata store (`cron:<job>`), so a
//! restart knows what it missed.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use fust_config::{Missed, Overlap, Schedule};
use tokio_util::sync::CancellationToken;

use crate::control::{JobManager, schedule_of};
use crate::store::now_ms;

/// How long after its time a cron run still counts as on time (not missed).
const GRACE_MS: i64 = 5_000;
/// At most this many past cron times are walked when looking for the latest one.
const MAX_WALK: usize = 100_000;

/// What the scheduler does for one job at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing is due.
    No,
    /// A cron time came due (its time, ms).
    On(i64),
    /// Cron times passed while the server was down; the latest one (ms).
    Missed(i64),
}

/// The latest cron time in `(last, now]`, and whether it is on time or was missed.
pub fn due(cron: &croner::Cron, tz: chrono_tz::Tz, last: i64, now: i64) -> Due {
    let Some(mut t) = ms_to_tz(last, tz) else {
        return Due::No;
    };
    let mut latest = None;
    for _ in 0..MAX_WALK {
        match cron.find_next_occurrence(&t, false) {
            Ok(next) if next.timestamp_millis() <= now => {
                latest = Some(next.timestamp_millis());
                t = next;
            }
            _ => break,
        }
    }
    match latest {
        None => Due::No,
        Some(at) if now - at <= GRACE_MS => Due::On(at),
        Some(at) => Due::Missed(at),
    }
}

fn ms_to_tz(ms: i64, tz: chrono_tz::Tz) -> Option<DateTime<chrono_tz::Tz>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&tz))
}

/// The next cron time after `after` (ms), for display.
pub fn next_time(schedule: &Schedule, after: i64) -> Option<i64> {
    let cron = schedule.cron()?.ok()?;
    let tz = schedule.tz().ok()?;
    let t = ms_to_tz(after, tz)?;
    cron.find_next_occurrence(&t, false)
        .ok()
        .map(|n| n.timestamp_millis())
}

/// Checks every scheduled job each `tick` until `stop` fires.
pub async fn run_scheduler(manager: JobManager, tick: Duration, stop: CancellationToken) {
    let status = &manager.inner.scheduler;
    let _running = status.start(tick);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = tick_once(&manager).await {
            tracing::warn!(error = %e, "Scheduler tick failed; trying again at the next tick");
        }
        crate::metrics::scheduler_tick();
        status.ticked(now_ms());
    }
}

/// One pass over the jobs: starts the runs that came due.
pub async fn tick_once(manager: &JobManager) -> Result<(), crate::store::StoreError> {
    let store = manager.store();
    let now = now_ms();
    for job in store.list_jobs().await? {
        // A disabled job's cron times pass unseen; enabling it starts its schedule from
        // then (`JobManager::set_enabled`), so nothing counts as missed.
        if !job.enabled {
            continue;
        }
        let schedule = schedule_of(&job.definition);
        let (Some(Ok(cron)), Ok(tz)) = (schedule.cron(), schedule.tz()) else {
            continue;
        };
        let key = format!("cron:{}", job.name);
        let last = match store.get_meta(&key).await? {
            Some(v) => v.parse::<i64>().unwrap_or(now),
            None => {
                // A new schedule starts from now: nothing before it counts as missed.
                store.put_meta(&key, &now.to_string()).await?;
                continue;
            }
        };
        let at = match due(&cron, tz, last, now) {
            Due::No => continue,
            Due::On(at) => at,
            Due::Missed(at) => {
                if schedule.missed == Missed::Skip {
                    store.put_meta(&key, &at.to_string()).await?;
                    tracing::info!(job = %job.name, "Skipped cron times missed while the server was down (missed: skip)");
                    continue;
                }
                at
            }
        };
        store.put_meta(&key, &at.to_string()).await?;
        if schedule.overlap == Overlap::Skip && manager.active_runs(&job.name) > 0 {
            tracing::info!(job = %job.name, "Skipped a cron run: the previous run is still active (overlap: skip)");
            continue;
        }
        crate::metrics::scheduler_lag((now_ms() - at) as f64 / 1000.0);
        if let Err(e) = manager.trigger(&job.name, "cron", None).await {
            tracing::warn!(job = %job.name, error = %e, "Cannot start a cron run");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .timestamp_millis()
    }

    #[test]
    fn on_time_missed_and_not_due() {
        let cron = fust_config::parse_cron("0 * * * *").expect("cron");
        let utc = chrono_tz::UTC;
        let last = ms("2026-01-01T10:00:00Z");
        assert_eq!(due(&cron, utc, last, ms("2026-01-01T10:30:00Z")), Due::No);
        assert_eq!(
            due(&cron, utc, last, ms("2026-01-01T11:00:02Z")),
            Due::On(ms("2026-01-01T11:00:00Z"))
        );
        // Down from 10:30 to 13:20: the latest missed time is 13:00.
        assert_eq!(
            due(&cron, utc, last, ms("2026-01-01T13:20:00Z")),
            Due::Missed(ms("2026-01-01T13:00:00Z"))
        );
    }

    #[test]
    fn time_zone_and_seconds() {
        // 09:00 in Berlin is 08:00 UTC in winter.
        let cron = fust_config::parse_cron("0 9 * * *").expect("cron");
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().expect("tz");
        let last = ms("2026-01-10T00:00:00Z");
        assert_eq!(
            due(&cron, berlin, last, ms("2026-01-10T08:00:01Z")),
            Due::On(ms("2026-01-10T08:00:00Z"))
        );
        let every2s = fust_config::parse_cron("*/2 * * * * *").expect("cron");
        assert_eq!(
            due(
                &every2s,
                chrono_tz::UTC,
                ms("2026-01-10T00:00:00Z"),
                ms("2026-01-10T00:00:03Z")
            ),
            Due::On(ms("2026-01-10T00:00:02Z"))
        );
    }
}
