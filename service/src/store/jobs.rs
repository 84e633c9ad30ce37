//! Jobs and their versions.

use sqlx::{Any, Row, Transaction};

use super::sql::{backoff, is_conflict, now_ms};
use super::types::{JobRecord, JobVersion, StoreError, StoreResult};
use super::{JOB_COLUMNS, Store, WRITE_ATTEMPTS};

impl Store {
    // ---- jobs -------------------------------------------------------------------------

    /// Creates job `name` at the version after the highest it ever had (1 for a new name).
    /// Fails with [`StoreError::Conflict`] when it exists.
    pub async fn create_job(&self, name: &str, definition: &str) -> StoreResult<JobRecord> {
        let mut tx = self.begin().await?;
        let result = self.insert_job(&mut tx, name, definition).await;
        match result {
            Ok(job) => {
                self.commit(tx).await?;
                Ok(job)
            }
            Err(e) if is_conflict(&e) => Err(StoreError::Conflict {
                what: "job",
                name: name.to_owned(),
            }),
            Err(e) => Err(self.db(&format!("creating job `{name}`"), e)),
        }
    }

    /// Creates the job, or stores `definition` as its next version. A definition that is
    /// byte-identical to the current one adds no version. Returns the job and whether it
    /// was created.
    pub async fn put_job(&self, name: &str, definition: &str) -> StoreResult<(JobRecord, bool)> {
        let context = || format!("storing job `{name}`");
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut tx = self.begin().await?;
            let current = self
                .query(&format!(
                    "SELECT {JOB_COLUMNS} FROM fust_jobs WHERE name = ?"
                ))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.db(&context(), e))?
                .map(|row| self.job_from_row(&row))
                .transpose()?;
            let written = match current {
                Some(job) if job.definition == definition => {
                    self.commit(tx).await?;
                    return Ok((job, false));
                }
                Some(job) => self
                    .update_job(&mut tx, &job, definition)
                    .await
                    .map(|updated| updated.map(|job| (job, false))),
                None => self
                    .insert_job(&mut tx, name, definition)
                    .await
                    .map(|job| Some((job, true))),
            };
            match written {
                Ok(Some(done)) => {
                    self.commit(tx).await?;
                    return Ok(done);
                }
                // Another writer changed the job first: read it again.
                Ok(None) => {}
                Err(e) if is_conflict(&e) && attempt < WRITE_ATTEMPTS => {}
                Err(e) => return Err(self.db(&context(), e)),
            }
            drop(tx);
            backoff(attempt).await;
        }
        Err(self.db_msg(format!(
            "storing job `{name}`: gave up after {WRITE_ATTEMPTS} concurrent updates"
        )))
    }

    pub async fn get_job(&self, name: &str) -> StoreResult<Option<JobRecord>> {
        self.query(&format!(
            "SELECT {JOB_COLUMNS} FROM fust_jobs WHERE name = ?"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(&format!("reading job `{name}`"), e))?
        .map(|row| self.job_from_row(&row))
        .transpose()
    }

    /// Every job, by name (byte order on every backend).
    pub async fn list_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let rows = self
            .query(&format!(
                "SELECT {JOB_COLUMNS} FROM fust_jobs ORDER BY name"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db("listing jobs", e))?;
        let mut jobs = rows
            .iter()
            .map(|row| self.job_from_row(row))
            .collect::<StoreResult<Vec<_>>>()?;
        // PostgreSQL may order by a locale collation.
        jobs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(jobs)
    }

    /// Every stored version of the job, oldest first, also after the job was deleted.
    pub async fn job_versions(&self, name: &str) -> StoreResult<Vec<JobVersion>> {
        let rows = self
            .query(
                "SELECT name, version, definition, created_at FROM fust_job_versions \
                 WHERE name = ? ORDER BY version",
            )
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(&format!("listing versions of job `{name}`"), e))?;
        rows.iter().map(|row| self.version_from_row(row)).collect()
    }

    pub async fn job_version(&self, name: &str, version: i64) -> StoreResult<Option<JobVersion>> {
        self.query(
            "SELECT name, version, definition, created_at FROM fust_job_versions \
             WHERE name = ? AND version = ?",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(&format!("reading version {version} of job `{name}`"), e))?
        .map(|row| self.version_from_row(&row))
        .transpose()
    }

    /// Enables or disables the job (no new version: the definition is unchanged). The job
    /// as stored afterwards; None when there is no such job.
    pub async fn set_job_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> StoreResult<Option<JobRecord>> {
        let verb = if enabled { "enabling" } else { "disabling" };
        self.query("UPDATE fust_jobs SET enabled = ? WHERE name = ?")
            .bind(i64::from(enabled))
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("{verb} job `{name}`"), e))?;
        // MySQL counts only changed rows, so "0 rows" does not mean "no such job".
        self.get_job(name).await
    }

    /// Deletes the job; its versions, runs and logs are kept. False if it did not exist.
    pub async fn delete_job(&self, name: &str) -> StoreResult<bool> {
        let done = self
            .query("DELETE FROM fust_jobs WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("deleting job `{name}`"), e))?;
        Ok(done.rows_affected() > 0)
    }
    /// Inserts a new job at the version after the highest it ever had.
    async fn insert_job(
        &self,
        tx: &mut Transaction<'static, Any>,
        name: &str,
        definition: &str,
    ) -> Result<JobRecord, sqlx::Error> {
        let row = self
            .query("SELECT MAX(version) AS v FROM fust_job_versions WHERE name = ?")
            .bind(name)
            .fetch_one(&mut **tx)
            .await?;
        let highest: Option<i64> = row.try_get("v")?;
        let now = now_ms();
        let job = JobRecord {
            name: name.to_owned(),
            version: highest.unwrap_or(0) + 1,
            definition: definition.to_owned(),
            created_at: now,
            updated_at: now,
            enabled: true,
        };
        self.query(
            "INSERT INTO fust_jobs (name, version, definition, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&job.name)
        .bind(job.version)
        .bind(&job.definition)
        .bind(job.created_at)
        .bind(job.updated_at)
        .execute(&mut **tx)
        .await?;
        self.insert_version(tx, &job).await?;
        Ok(job)
    }

    /// Moves the job from `current` to its next version; None if another writer changed
    /// it since `current` was read.
    async fn update_job(
        &self,
        tx: &mut Transaction<'static, Any>,
        current: &JobRecord,
        definition: &str,
    ) -> Result<Option<JobRecord>, sqlx::Error> {
        let job = JobRecord {
            version: current.version + 1,
            definition: definition.to_owned(),
            updated_at: now_ms(),
            ..current.clone()
        };
        let done = self
            .query(
                "UPDATE fust_jobs SET version = ?, definition = ?, updated_at = ? \
                 WHERE name = ? AND version = ?",
            )
            .bind(job.version)
            .bind(&job.definition)
            .bind(job.updated_at)
            .bind(&job.name)
            .bind(current.version)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.insert_version(tx, &job).await?;
        Ok(Some(job))
    }

    async fn insert_version(
        &self,
        tx: &mut Transaction<'static, Any>,
        job: &JobRecord,
    ) -> Result<(), sqlx::Error> {
        self.query(
            "INSERT INTO fust_job_versions (name, version, definition, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&job.name)
        .bind(job.version)
        .bind(&job.definition)
        .bind(job.updated_at)
        .execute(&mut **tx)
        .await
        .map(drop)
    }
}
