//! Connector state (cursor marks) and service metadata, and the engine's `StateStore` door onto them.

use async_trait::async_trait;
use datafusion::error::{DataFusionError, Result};
use fust_engine::StateStore;

use super::Store;
use super::sql::now_ms;
use super::types::{Backend, StoreResult};

impl Store {
    // ---- connector state and service metadata -----------------------------------------

    /// A connector's saved state (e.g. an incremental cursor) for the job.
    pub async fn get_state(&self, job: &str, key: &str) -> StoreResult<Option<String>> {
        let row = self
            .query("SELECT value FROM fust_connector_state WHERE job = ? AND state_key = ?")
            .bind(job)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading state `{key}` of job `{job}`"), e))?;
        row.map(|row| self.col(&row, "value")).transpose()
    }

    /// Saves (inserts or replaces) a connector's state for the job.
    pub async fn put_state(&self, job: &str, key: &str, value: &str) -> StoreResult<()> {
        let sql = match self.backend {
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO fust_connector_state (job, state_key, value, updated_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (job, state_key) \
                 DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            }
            Backend::Mysql => {
                "INSERT INTO fust_connector_state (job, state_key, value, updated_at) \
                 VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)"
            }
        };
        self.query(sql)
            .bind(job)
            .bind(key)
            .bind(value)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("saving state `{key}` of job `{job}`"), e))?;
        Ok(())
    }

    /// A value of the service itself (e.g. the scheduler's last tick).
    pub async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = self
            .query("SELECT value FROM fust_meta WHERE meta_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading service value `{key}`"), e))?;
        row.map(|row| self.col(&row, "value")).transpose()
    }

    /// Saves (inserts or replaces) a value of the service itself.
    pub async fn put_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let sql = match self.backend {
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO fust_meta (meta_key, value) VALUES (?, ?) \
                 ON CONFLICT (meta_key) DO UPDATE SET value = excluded.value"
            }
            Backend::Mysql => {
                "INSERT INTO fust_meta (meta_key, value) VALUES (?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value)"
            }
        };
        self.query(sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("saving service value `{key}`"), e))?;
        Ok(())
    }
}

/// One job's connector state in the metadata store (`fust_connector_state`): the
/// [`StateStore`] a run of the job service gets.
#[derive(Debug, Clone)]
pub struct JobState {
    store: Store,
    job: String,
}

impl JobState {
    pub fn new(store: Store, job: impl Into<String>) -> Self {
        Self {
            store,
            job: job.into(),
        }
    }
}

#[async_trait]
impl StateStore for JobState {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.store
            .get_state(&self.job, key)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }

    async fn put(&self, key: &str, value: &str) -> Result<()> {
        self.store
            .put_state(&self.job, key, value)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}
