//! The file outputs of a stream job (`parquet`, `csv`, `json`; local or object store):
//! `path` is a directory, and each epoch becomes one file in it, published together with
//! the epoch's source positions.
//!
//! An epoch is written under `_fust/staging/`. Its commit point is the creation of
//! `_fust/manifest-NNNNNNNNNN.json` (a create-if-absent put: an atomic link locally, a
//! conditional put on S3) holding the file's name and every position so far; the file is
//! then moved into the directory (a rename locally, a copy on S3). A start first finishes
//! the move of the last manifest's file if a kill interrupted it, and deletes the staging
//! files no manifest names; so a reader of the directory never sees part of an epoch, and
//! a restart resumes from the last manifest.
//!
//! On a local disk the epoch's files are fsynced (with their directories) before the
//! manifest is created, and the manifest before the epoch counts as committed: a power
//! cut then cannot leave a manifest naming a file that was lost or only partly written.
//! An object store's put is durable when it returns.

use std::collections::BTreeSet;

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use fust_engine::durable::{dir_of, sync_dir};
use fust_engine::{Checkpoint, Epoch, PositionConflict, Positions};
use futures::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::object_store::{StorageOptions, register_store};

/// Manifests kept (older ones are deleted; the newest holds every position).
const KEEP_MANIFESTS: usize = 10;

/// What a committed epoch published.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    /// The stream job whose output this is.
    job: String,
    /// Counts the epochs of this directory from 1.
    epoch: u64,
    /// The epoch's file, relative to the directory.
    file: String,
    /// Every part's position after this epoch.
    positions: Positions,
    /// The job's operator state after this epoch, a file under `_fust/`.
    #[serde(default)]
    state: Option<String>,
}

/// The output directory of a stream job in its object store.
struct Dir {
    store: Arc<dyn ObjectStore>,
    root: StorePath,
    /// The directory as the job names it, for messages.
    shown: String,
    /// The store, when the directory is on a local disk (whose writes need fsyncs).
    local: Option<Arc<LocalFileSystem>>,
}

impl Dir {
    fn locate(ctx: &SessionContext, path: &str, storage: &StorageOptions) -> Result<Dir> {
        let shown = path.to_string();
        if path.contains("://") && !path.starts_with("file://") {
            let url = Url::parse(path)
                .map_err(|e| DataFusionError::Plan(format!("`{path}` is not a valid URL: {e}")))?;
            let store = register_store(ctx, &url, storage)?;
            let root = StorePath::from_url_path(url.path())?;
            return Ok(Dir {
                store,
                root,
                shown,
                local: None,
            });
        }
        let local = path.strip_prefix("file://").unwrap_or(path);
        if std::path::Path::new(local).is_file() {
            return Err(DataFusionError::Plan(format!(
                "`{path}` is a file; a stream job writes a directory of files, one per epoch"
            )));
        }
        std::fs::create_dir_all(local).map_err(|e| {
            DataFusionError::Execution(format!("cannot create directory {path}: {e}"))
        })?;
        let root = StorePath::from_filesystem_path(local)?;
        let fs = Arc::new(LocalFileSystem::new());
        Ok(Dir {
            store: fs.clone(),
            root,
            shown,
            local: Some(fs),
        })
    }

    /// Makes `files`, and their names in their directories, durable on a local disk
    /// (nothing to do in an object store).
    async fn sync(&self, files: &[&StorePath]) -> Result<()> {
        let Some(fs) = &self.local else {
            return Ok(());
        };
        let paths = files
            .iter()
            .map(|f| fs.path_to_filesystem(f))
            .collect::<object_store::Result<Vec<_>>>()?;
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut dirs = BTreeSet::new();
            for path in &paths {
                std::fs::File::open(path)?.sync_all()?;
                dirs.insert(dir_of(path));
            }
            dirs.iter().try_for_each(|d| sync_dir(d))
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        synced.map_err(|e| {
            DataFusionError::Execution(format!(
                "{}: cannot make the epoch's files durable (fsync): {e}",
                self.shown
            ))
        })
    }

    fn meta(&self) -> StorePath {
        self.root.clone().join("_fust")
    }

    fn manifest(&self, epoch: u64) -> StorePath {
        self.meta().join(format!("manifest-{epoch:010}.json"))
    }

    fn staged(&self, file: &str) -> StorePath {
        self.meta().join("staging").join(file)
    }

    /// The manifests' epochs, oldest first.
    async fn manifests(&self) -> Result<Vec<u64>> {
        let listed: Vec<_> = self.store.list(Some(&self.meta())).try_collect().await?;
        let mut epochs: Vec<u64> = listed
            .iter()
            .filter_map(|m| m.location.filename())
            .filter_map(|f| {
                f.strip_prefix("manifest-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }

    async fn read_manifest(&self, epoch: u64) -> Result<Manifest> {
        let bytes = self.store.get(&self.manifest(epoch)).await?.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            DataFusionError::Execution(format!(
                "{}: manifest {epoch} is not readable ({e}); the directory was changed by hand",
                self.shown
            ))
        })
    }

    /// The last committed epoch, after finishing its publication if a kill interrupted
    /// it and removing the staging files of epochs that never committed.
    async fn recover(&self, job: &str) -> Result<Option<Manifest>> {
        let latest = match self.manifests().await?.last() {
            Some(&n) => Some(self.read_manifest(n).await?),
            None => None,
        };
        if let Some(m) = &latest {
            if m.job != job {
                return Err(DataFusionError::Plan(format!(
                    "{} holds the output of stream job `{}`, not `{job}`; give each job its own directory",
                    self.shown, m.job
                )));
            }
            let staged = self.staged(&m.file);
            if self.store.head(&staged).await.is_ok() {
                self.store
                    .rename(&staged, &self.root.clone().join(m.file.as_str()))
                    .await?;
            }
        }
        let staging: Vec<_> = self
            .store
            .list(Some(&self.meta().join("staging")))
            .try_collect()
            .await?;
        for leftover in staging {
            let _ = self.store.delete(&leftover.location).await;
        }
        Ok(latest)
    }
}

/// What is committed to the directory `path` for stream job `job`.
pub async fn checkpoint(
    ctx: &SessionContext,
    path: &str,
    storage: &StorageOptions,
    job: &str,
) -> Result<Checkpoint> {
    let dir = Dir::locate(ctx, path, storage)?;
    let Some(m) = dir.recover(job).await? else {
        return Ok(Checkpoint::default());
    };
    let state = match &m.state {
        Some(file) => Some(
            dir.store
                .get(&dir.meta().join(file.as_str()))
                .await?
                .bytes()
                .await?
                .to_vec(),
        ),
        None => None,
    };
    Ok(Checkpoint {
        positions: m.positions,
        state,
    })
}

/// One epoch's file being written under `_fust/staging/`.
pub struct EpochOutput {
    dir: Dir,
    epoch: Arc<Epoch>,
    number: u64,
    file: String,
    writer: BufWriter,
    bytes: u64,
}

impl EpochOutput {
    /// Starts the next epoch's file (`part-NNNNNNNNNN.{ext}`) in the directory `path`.
    pub async fn open(
        ctx: &SessionContext,
        path: &str,
        storage: &StorageOptions,
        ext: &str,
        epoch: Arc<Epoch>,
    ) -> Result<Self> {
        let dir = Dir::locate(ctx, path, storage)?;
        let number = dir.recover(&epoch.job).await?.map_or(1, |m| m.epoch + 1);
        let file = format!("part-{number:010}.{ext}");
        let writer = BufWriter::new(dir.store.clone(), dir.staged(&file));
        Ok(EpochOutput {
            dir,
            epoch,
            number,
            file,
            writer,
            bytes: 0,
        })
    }

    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.writer.write_all(data).await?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Publishes the file with the epoch's positions; bytes written.
    pub async fn commit(mut self) -> Result<u64> {
        self.writer.shutdown().await?;
        let dir = &self.dir;
        let staged = dir.staged(&self.file);
        let before = match self.number {
            1 => Positions::default(),
            n => dir.read_manifest(n - 1).await?.positions,
        };
        let spans = self.epoch.spans();
        if let Some(span) = spans.iter().find(|s| before.get(&s.part) != s.from) {
            let _ = dir.store.delete(&staged).await;
            let show = |p: Option<i64>| p.map_or("none".to_string(), |p| p.to_string());
            return Err(self.epoch.conflict(PositionConflict {
                target: dir.shown.clone(),
                part: span.part.clone(),
                expected: show(span.from),
                stored: show(before.get(&span.part)),
            }));
        }
        // The state goes first under its own name; only the manifest makes it current.
        let state = match self.epoch.state() {
            Some(bytes) => {
                let name = format!("state-{:010}.bin", self.number);
                let path = dir.meta().join(name.as_str());
                dir.store.put(&path, PutPayload::from(bytes)).await?;
                dir.sync(&[&staged, &path]).await?;
                Some(name)
            }
            None => {
                dir.sync(&[&staged]).await?;
                None
            }
        };
        let manifest = Manifest {
            job: self.epoch.job.clone(),
            epoch: self.number,
            file: self.file.clone(),
            positions: before.advanced(&spans),
            state,
        };
        let body = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let put = dir
            .store
            .put_opts(
                &dir.manifest(self.number),
                PutPayload::from(body),
                PutOptions::from(PutMode::Create),
            )
            .await;
        if let Err(e) = put {
            let _ = dir.store.delete(&staged).await;
            return Err(match e {
                object_store::Error::AlreadyExists { .. } => {
                    self.epoch.conflict(PositionConflict {
                        target: dir.shown.clone(),
                        part: format!("epoch {}", self.number),
                        expected: "no manifest".into(),
                        stored: "a manifest written by another process".into(),
                    })
                }
                other => other.into(),
            });
        }
        dir.sync(&[&dir.manifest(self.number)]).await?;
        dir.store
            .rename(&staged, &dir.root.clone().join(self.file.as_str()))
            .await?;
        let manifests = dir.manifests().await?;
        for old in manifests.iter().rev().skip(KEEP_MANIFESTS) {
            let _ = dir.store.delete(&dir.manifest(*old)).await;
            let _ = dir
                .store
                .delete(&dir.meta().join(format!("state-{old:010}.bin").as_str()))
                .await;
        }
        Ok(self.bytes)
    }

    pub async fn abort(mut self) {
        let _ = self.writer.abort().await;
        let _ = self.dir.store.delete(&self.dir.staged(&self.file)).await;
    }
}
