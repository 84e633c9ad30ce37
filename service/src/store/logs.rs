//! Run logs with gap-free sequence numbers per run.

use sqlx::Row;

use super::sql::{backoff, is_conflict, not_found_run, now_ms};
use super::types::{Backend, LogLine, StoreResult};
use super::{Store, WRITE_ATTEMPTS};

impl Store {
    // ---- logs -------------------------------------------------------------------------

    /// Appends a line to the run's log and returns its sequence number (1, 2, … without
    /// gaps, also under concurrent appends). NotFound if the run does not exist.
    pub async fn append_log(&self, run_id: &str, level: &str, message: &str) -> StoreResult<i64> {
        let context = || format!("appending to the log of run {run_id}");
        // Locking the run row serialises appends to one run on PostgreSQL and MySQL; the
        // single SQLite connection serialises everything. The unique key on (run_id, seq)
        // backs this up: a duplicate is retried.
        let lock = match self.backend {
            Backend::Sqlite => "SELECT id FROM fust_runs WHERE id = ?",
            Backend::Postgres | Backend::Mysql => {
                "SELECT id FROM fust_runs WHERE id = ? FOR UPDATE"
            }
        };
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut tx = self.begin().await?;
            let written: Result<Option<i64>, sqlx::Error> = async {
                if self
                    .query(lock)
                    .bind(run_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                let row = self
                    .query(
                        "SELECT COALESCE(MAX(seq), 0) + 1 AS next_seq FROM fust_run_logs \
                         WHERE run_id = ?",
                    )
                    .bind(run_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let seq: i64 = row.try_get("next_seq")?;
                self.query(
                    "INSERT INTO fust_run_logs (run_id, seq, at, level, message) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(run_id)
                .bind(seq)
                .bind(now_ms())
                .bind(level)
                .bind(message)
                .execute(&mut *tx)
                .await?;
                Ok(Some(seq))
            }
            .await;
            match written {
                Ok(Some(seq)) => {
                    self.commit(tx).await?;
                    return Ok(seq);
                }
                Ok(None) => return Err(not_found_run(run_id)),
                Err(e) if is_conflict(&e) && attempt < WRITE_ATTEMPTS => {
                    drop(tx);
                    backoff(attempt).await;
                }
                Err(e) => return Err(self.db(&context(), e)),
            }
        }
        Err(self.db_msg(format!(
            "{}: gave up after {WRITE_ATTEMPTS} concurrent appends",
            context()
        )))
    }

    /// Up to `limit` lines of the run's log with `seq > after_seq`, in order.
    pub async fn logs(
        &self,
        run_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogLine>> {
        let rows = self
            .query(
                "SELECT run_id, seq, at, level, message FROM fust_run_logs \
                 WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(run_id)
            .bind(after_seq)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading the log of run {run_id}"), e))?;
        rows.iter()
            .map(|row| {
                Ok(LogLine {
                    run_id: self.col(row, "run_id")?,
                    seq: self.col(row, "seq")?,
                    at: self.col(row, "at")?,
                    level: self.col(row, "level")?,
                    message: self.col(row, "message")?,
                })
            })
            .collect()
    }
}
