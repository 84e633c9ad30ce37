//! What the cron scheduler is doing, for the API's overview: held by the manager, updated
//! by the scheduler's loop (`scheduler::run_scheduler`).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct SchedulerStatus {
    running: AtomicBool,
    tick_ms: AtomicU64,
    ticks: AtomicU64,
    /// ms since the epoch; 0 before the first pass.
    last_tick_at: AtomicI64,
}

/// A copy of [`SchedulerStatus`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerSnapshot {
    /// The scheduler loop is running (false before `fust serve` starts it and after it stops).
    pub running: bool,
    /// How often it looks at the jobs (ms).
    pub tick_ms: u64,
    /// Passes over the jobs since the server started (`fust_scheduler_ticks_total`).
    pub ticks: u64,
    /// When the last pass ended (ms since the epoch).
    pub last_tick_at: Option<i64>,
}

impl SchedulerStatus {
    pub fn snapshot(&self) -> SchedulerSnapshot {
        let last = self.last_tick_at.load(Ordering::Relaxed);
        SchedulerSnapshot {
            running: self.running.load(Ordering::Relaxed),
            tick_ms: self.tick_ms.load(Ordering::Relaxed),
            ticks: self.ticks.load(Ordering::Relaxed),
            last_tick_at: (last > 0).then_some(last),
        }
    }

    /// The loop starts, looking every `tick`; it counts as running until the guard drops.
    pub(crate) fn start(&self, tick: Duration) -> Running<'_> {
        self.tick_ms
            .store(tick.as_millis() as u64, Ordering::Relaxed);
        self.running.store(true, Ordering::Relaxed);
        Running(self)
    }

    /// A pass over the jobs ended at `now` (ms).
    pub(crate) fn ticked(&self, now: i64) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.last_tick_at.store(now, Ordering::Relaxed);
    }
}

/// Marks the scheduler stopped when its loop ends, however it ends.
pub(crate) struct Running<'a>(&'a SchedulerStatus);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Relaxed);
    }
}
