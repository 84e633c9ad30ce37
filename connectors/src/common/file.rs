//! What every file connector shares: a listing source over paths/globs/URLs, and an
//! atomic file writer (temporary name, fsync and rename locally; an append journal for
//! appends; multipart upload on object stores) that format encoders write into.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::Column;
use datafusion::common::{DataFusionError, exec_err, plan_err};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::functions::expr_fn::nullif;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, cast, lit};
use datafusion::prelude::SessionContext;
use fust_engine::{OptionError, Pending, SinkSummary, StageRejects, durable};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStoreExt};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::common::epoch_files::EpochOutput;
use crate::common::journal::{self, Journal, journal_path};
use crate::object_store::{StorageOptions, input_url, register_store};

/// Turns an inferred schema into the one to read with (e.g. "all strings", overrides).
pub type SchemaFix = Arc<dyn Fn(SchemaRef) -> Result<SchemaRef> + Send + Sync>;

/// A source over files of one format: a DataFusion listing table, so projections and
/// filters reach the scan and large files are read in parallel byte ranges.
pub struct ListingSource {
    pub path: String,
    pub format: Arc<dyn FileFormat>,
    /// Extension to keep when `path` is a directory (e.g. `.csv`).
    pub extension: &'static str,
    pub storage: StorageOptions,
    pub fix_schema: Option<SchemaFix>,
    /// Text that means NULL, applied after reading as text (DataFusion 55's CSV reader
    /// uses `null_regex` for inference only: apache/datafusion#25213).
    pub null_value: Option<String>,
    /// A schema to use instead of inferring one.
    pub schema: Option<SchemaRef>,
    /// Total size of the files found the last time the table was listed (for the summary).
    pub listed_bytes: std::sync::atomic::AtomicU64,
    /// A connector's own reader for plain local files (CSV has one), tried before
    /// DataFusion's reader when every file is local.
    pub local_scan: Option<LocalScan>,
    /// For text formats: look again at this many rows after inference, and read a column
    /// inferred as a number as text when one of them is written with a leading zero.
    pub zero_padded_as_text: Option<usize>,
    /// The format to infer the schema with when bad records are tolerated (CSV: one that
    /// reads past records with the wrong field count, which the reader then reports).
    pub lenient_format: Option<Arc<dyn FileFormat>>,
    /// The same for local files, by the connector's own reading (JSON: its lines that
    /// parse).
    pub lenient_infer: Option<LenientInfer>,
}

/// `schema` with each numeric column that holds a zero-padded number (`007`, `08123`,
/// `-01.5`) in the first `rows` rows of `text` (the files read as all strings) turned to
/// text, as DuckDB's sniffer does: such a column is a code (a zip code, an id), and a
/// number would silently drop its zeros. A lone `0` and `0.5` are numbers.
async fn zero_padded_as_text(
    ctx: &SessionContext,
    text: Arc<dyn TableProvider>,
    schema: &SchemaRef,
    rows: usize,
) -> Result<SchemaRef> {
    use datafusion::functions::expr_fn::regexp_like;
    use datafusion::functions_aggregate::expr_fn::bool_or;
    let numeric: Vec<&Field> = (schema.fields().iter())
        .filter(|f| f.data_type().is_numeric())
        .map(|f| f.as_ref())
        .collect();
    if numeric.is_empty() {
        return Ok(schema.clone());
    }
    let checks: Vec<Expr> = numeric
        .iter()
        .map(|f| {
            let text = Expr::Column(Column::new_unqualified(f.name()));
            bool_or(regexp_like(text, lit(r"^\s*[-+]?0[0-9]"), None)).alias(f.name())
        })
        .collect();
    let found = ctx
        .read_table(text)?
        .limit(0, Some(rows))?
        .aggregate(vec![], checks)?
        .collect()
        .await?;
    let padded: Vec<&str> = match found.first() {
        Some(b) if b.num_rows() == 1 => numeric
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let c = b.column(*i).as_boolean();
                c.is_valid(0) && c.value(0)
            })
            .map(|(_, f)| f.name().as_str())
            .collect(),
        _ => Vec::new(),
    };
    if padded.is_empty() {
        return Ok(schema.clone());
    }
    tracing::debug!(columns = ?padded, "zero-padded numbers: read as text");
    let fields: Vec<Field> = (schema.fields().iter())
        .map(|f| match padded.contains(&f.name().as_str()) {
            true => Field::new(f.name(), DataType::Utf8, true),
            false => f.as_ref().clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// Builds a table over local files `(path, size)` with the given schema, or `None` to
/// leave them to DataFusion's reader.
/// A file's path as bad-record positions show it: relative to the working directory when
/// inside it.
pub fn shown_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}

/// Infers the schema of local files `(path, size)` past their bad records (`None`: they
/// hold no record), for runs that tolerate them.
pub type LenientInfer = Arc<dyn Fn(&[(PathBuf, u64)]) -> Result<Option<SchemaRef>> + Send + Sync>;

/// `rejects` is the input's door for bad records.
pub type LocalScan = Arc<
    dyn Fn(&[(PathBuf, u64)], SchemaRef, StageRejects) -> Option<Arc<dyn TableProvider>>
        + Send
        + Sync,
>;

impl std::fmt::Debug for ListingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListingSource")
            .field("path", &self.path)
            .finish()
    }
}

#[async_trait]
impl fust_engine::Source for ListingSource {
    async fn table(&self, ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        let url = input_url(ctx, &self.path, &self.storage)?;
        let is_dir = self.path.ends_with('/') || Path::new(&self.path).is_dir();
        let ext = if is_dir { self.extension } else { "" };
        let options = ListingOptions::new(self.format.clone()).with_file_extension(ext);
        let state = ctx.state();
        let store = state.runtime_env().object_store(url.object_store())?;
        let files: Vec<_> = url
            .list_all_files(&state, store.as_ref(), ext)
            .await?
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        if files.is_empty() {
            return plan_err!("no files match `{}`", self.path);
        }
        self.listed_bytes.store(
            files.iter().map(|m| m.size).sum(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let rejects = StageRejects::of(ctx);
        let infer_options = match (&self.lenient_format, rejects.tolerates()) {
            (Some(format), true) => ListingOptions::new(format.clone()).with_file_extension(ext),
            _ => options.clone(),
        };
        let local_files = match self.local_scan.is_some() || self.lenient_infer.is_some() {
            true => local_paths(&url, &files),
            false => None,
        };
        let lenient = match (&self.lenient_infer, &local_files, rejects.tolerates()) {
            (Some(infer), Some(paths), true) if self.schema.is_none() => infer(paths)?,
            _ => None,
        };
        let mut schema = match (&self.schema, lenient) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => s,
            (None, None) => infer_options
                .infer_schema(&state, &url)
                .await
                .map_err(|e| {
                    DataFusionError::Plan(format!(
                        "cannot read the schema of `{}`: {}",
                        self.path,
                        fust_engine::error::clean_message(&e)
                    ))
                })?,
        };
        let table = |schema: SchemaRef, rejects: &StageRejects| -> Result<Arc<dyn TableProvider>> {
            if let (Some(scan), Some(paths)) = (&self.local_scan, &local_files)
                && let Some(t) = scan(paths, schema.clone(), rejects.clone())
            {
                return Ok(t);
            }
            let config = ListingTableConfig::new(url.clone())
                .with_listing_options(options.clone())
                .with_schema(schema);
            Ok(Arc::new(ListingTable::try_new(config)?))
        };
        if self.schema.is_none()
            && let Some(rows) = self.zero_padded_as_text
        {
            // A look at the first rows, whose bad records the run reports when it reads them.
            let look = match rejects.tolerates() {
                true => StageRejects::discard(),
                false => rejects.clone(),
            };
            let text = table(all_strings(&schema), &look)?;
            schema = zero_padded_as_text(ctx, text, &schema, rows).await?;
        }
        if let Some(fix) = &self.fix_schema {
            schema = fix(schema)?;
        }
        let Some(null_value) = &self.null_value else {
            return table(schema, &rejects);
        };
        // Read every column as text, then turn `null_value` into NULL and cast to the
        // inferred types, as a view (projections and filters still reach the scan).
        let raw = table(all_strings(&schema), &rejects)?;
        let exprs: Vec<Expr> = schema
            .fields()
            .iter()
            .map(|f| {
                let text = Expr::Column(Column::new_unqualified(f.name()));
                let nulled = nullif(text, lit(null_value.as_str()));
                let typed = if f.data_type() == &DataType::Utf8 {
                    nulled
                } else {
                    cast(nulled, f.data_type().clone())
                };
                typed.alias(f.name())
            })
            .collect();
        let plan = LogicalPlanBuilder::scan("raw", provider_as_source(raw), None)?
            .project(exprs)?
            .build()?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }

    fn describe(&self) -> String {
        self.path.clone()
    }

    async fn input_bytes(&self, _ctx: &SessionContext) -> Option<u64> {
        Some(self.listed_bytes.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// The files as local paths with their sizes, sorted, when all of them are on local disk.
fn local_paths(url: &ListingTableUrl, files: &[ObjectMeta]) -> Option<Vec<(PathBuf, u64)>> {
    if url.scheme() != "file" {
        return None;
    }
    let mut paths = Vec::with_capacity(files.len());
    for meta in files {
        let path = PathBuf::from(format!("/{}", meta.location));
        // A name object_store had to encode would not be found: let DataFusion read it.
        let size = std::fs::metadata(&path).ok()?.len();
        if size != meta.size {
            return None;
        }
        paths.push((path, size));
    }
    paths.sort();
    Some(paths)
}

/// What to do when the output exists.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Replace it (atomically, when the run succeeds).
    #[default]
    Overwrite,
    /// Add to the end of it (local CSV and JSON files only).
    Append,
    /// Fail the run.
    ErrorIfExists,
}

/// A buffer that an encoder writes into and the writer drains.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.0.lock().map(|b| b.len()).unwrap_or(0)
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("buffer poisoned"))?
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A file format writer: encodes batches into a [`SharedBuf`].
pub trait Encoder: Send {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Writes any footer; called once after the last batch.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// Builds an encoder for a schema; `append` says whether it continues an existing file
/// (so a CSV header must not be written again).
pub type MakeEncoder<'a> =
    &'a (dyn Fn(SchemaRef, SharedBuf, bool) -> Result<Box<dyn Encoder>> + Sync);

const FLUSH_BYTES: usize = 8 << 20;

/// Where a file output goes: its `path`, `mode` and storage options, and the extension of
/// its files in a stream job (where `path` is a directory).
pub struct Destination<'a> {
    pub path: &'a str,
    pub mode: WriteMode,
    pub storage: &'a StorageOptions,
    pub ext: &'a str,
}

impl Destination<'_> {
    async fn open(&self, ctx: &SessionContext) -> Result<Output> {
        Output::open(ctx, self.path, self.mode, self.storage, self.ext).await
    }
}

/// Writes a stream to `to` through `encoder`, publishing the file only on success.
pub async fn write_file(
    ctx: &SessionContext,
    to: Destination<'_>,
    mut stream: SendableRecordBatchStream,
    make: MakeEncoder<'_>,
) -> Result<Box<dyn Pending>> {
    let path = to.path;
    let mut out = to.open(ctx).await?;
    let buf = SharedBuf::default();
    let mut encoder = make(stream.schema(), buf.clone(), out.appending())?;
    let mut rows = 0u64;
    let result: Result<()> = async {
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            encoder.write(&batch)?;
            if buf.len() >= FLUSH_BYTES {
                out.write(buf.take()).await?;
            }
        }
        encoder.finish()?;
        out.write(buf.take()).await
    }
    .await;
    out.settle(result.map(|()| rows), path).await
}

/// Encodes one batch into bytes on its own (CSV rows, JSON lines): batches can then be
/// encoded on several cores at once.
pub type BatchEncoder = Arc<dyn Fn(&RecordBatch) -> Result<Vec<u8>> + Send + Sync>;

/// Writes a stream to `path`, encoding up to `parallelism` batches at once on the
/// runtime's threads; `header` goes first (unless appending to a non-empty file). Order of
/// batches is kept.
pub async fn write_file_parallel(
    ctx: &SessionContext,
    to: Destination<'_>,
    stream: SendableRecordBatchStream,
    header: Vec<u8>,
    encode: BatchEncoder,
) -> Result<Box<dyn Pending>> {
    use datafusion::common::runtime::SpawnedTask;
    let path = to.path;
    let mut out = to.open(ctx).await?;
    let parallelism = ctx.state().config().target_partitions().max(1) + 1;
    let mut rows = 0u64;
    let result: Result<()> = async {
        if !out.appending() {
            out.write(header).await?;
        }
        let mut encoded = stream
            .map(|batch| {
                let encode = encode.clone();
                SpawnedTask::spawn(async move {
                    let batch = batch?;
                    let bytes = encode(&batch)?;
                    Ok::<_, DataFusionError>((batch.num_rows() as u64, bytes))
                })
            })
            .buffered(parallelism);
        // Each encoded batch (MBs) goes straight to the file: no second copy.
        while let Some(joined) = encoded.next().await {
            let (n, bytes) = joined
                .map_err(|e| DataFusionError::Internal(format!("encoder task failed: {e}")))??;
            rows += n;
            out.write(bytes).await?;
        }
        Ok(())
    }
    .await;
    out.settle(result.map(|()| rows), path).await
}

/// Outputs of this process not yet published: temporary files to delete, or appended files
/// with the length to cut them back to (and their journal to remove after). Lets the CLI
/// clean up when it must exit at once.
static UNPUBLISHED: Mutex<Vec<(PathBuf, Option<u64>)>> = Mutex::new(Vec::new());

fn track(path: &Path, len: Option<u64>) {
    if let Ok(mut u) = UNPUBLISHED.lock() {
        u.push((path.to_path_buf(), len));
    }
}

fn untrack(path: &Path) {
    if let Ok(mut u) = UNPUBLISHED.lock() {
        u.retain(|(p, _)| p != path);
    }
}

/// Rolls back every output this process has not published (for an immediate exit).
pub fn remove_unpublished() {
    let Ok(mut u) = UNPUBLISHED.lock() else {
        return;
    };
    for (path, len) in u.drain(..) {
        match len {
            None => {
                let _ = std::fs::remove_file(&path);
            }
            Some(len) => {
                if let Ok(f) = OpenOptions::new().write(true).open(&path)
                    && f.set_len(len).and_then(|()| f.sync_all()).is_ok()
                {
                    let _ = std::fs::remove_file(journal_path(&path));
                }
            }
        }
    }
}

/// An output file being written; invisible (or unchanged, for append) until `commit`.
pub enum Output {
    #[doc(hidden)]
    Local(LocalOutput),
    #[doc(hidden)]
    Store { writer: BufWriter, bytes: u64 },
    /// One epoch's file of a stream job (`path` is then a directory).
    #[doc(hidden)]
    Epoch(EpochOutput),
}

/// A local file written under a temporary name in the same directory, fsynced and renamed
/// on commit; or, for an append to an existing file, appended to in place under an
/// [append journal](crate::common::journal) that commit removes. Dropping it without
/// commit (failure, Ctrl-C) removes the temporary file; an appended file is cut back to
/// its old length. A `kill -9` leaves the temporary file or the journal, which the next
/// run of the same output sweeps or undoes ([`Output::open`]).
pub struct LocalOutput {
    file: Option<File>,
    temp: Option<PathBuf>,
    target: PathBuf,
    mode: WriteMode,
    /// For append: the length before this run.
    appended_from: Option<u64>,
    journal: Option<Journal>,
    bytes: u64,
    committed: bool,
}

impl Drop for LocalOutput {
    fn drop(&mut self) {
        untrack(self.temp.as_ref().unwrap_or(&self.target));
        if self.committed {
            return;
        }
        self.file.take();
        if let Some(t) = &self.temp {
            let _ = std::fs::remove_file(t);
        }
        if let Some(journal) = self.journal.take() {
            journal.roll_back();
        }
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> DataFusionError {
    DataFusionError::Execution(format!("cannot {what} {}: {e}", path.display()))
}

impl Output {
    /// Opens the output file `path`; in a stream job, the next epoch's file (named
    /// `part-N.{ext}`) in the directory `path`, where `mode` does not apply.
    pub async fn open(
        ctx: &SessionContext,
        path: &str,
        mode: WriteMode,
        storage: &StorageOptions,
        ext: &str,
    ) -> Result<Self> {
        if let Some(epoch) = fust_engine::Epoch::of(ctx) {
            return Ok(Output::Epoch(
                EpochOutput::open(ctx, path, storage, ext, epoch).await?,
            ));
        }
        if path.contains("://") && !path.starts_with("file://") {
            let url = Url::parse(path)
                .map_err(|e| DataFusionError::Plan(format!("`{path}` is not a valid URL: {e}")))?;
            let store = register_store(ctx, &url, storage)?;
            let key = StorePath::from_url_path(url.path())?;
            match mode {
                WriteMode::Append => {
                    return plan_err!(
                        "mode `append` works on local files only; `{path}` is in an object store"
                    );
                }
                WriteMode::ErrorIfExists if store.head(&key).await.is_ok() => {
                    return exec_err!("`{path}` already exists (mode: error_if_exists)");
                }
                _ => {}
            }
            return Ok(Output::Store {
                writer: BufWriter::new(store, key),
                bytes: 0,
            });
        }
        let target = PathBuf::from(path.strip_prefix("file://").unwrap_or(path));
        if target.is_dir() {
            return plan_err!("`{path}` is a directory; give a file name");
        }
        let dir = durable::dir_of(&target);
        std::fs::create_dir_all(&dir).map_err(|e| io_err("create directory", &dir, e))?;
        // What killed runs of this output left: first undo a half-done append (in every
        // mode: an overwrite that fails must leave the old content, not a partial append),
        // then remove their temporary files.
        journal::recover(&target)?;
        durable::sweep_stale_temps(&target);
        let exists = target.exists();
        if exists && mode == WriteMode::ErrorIfExists {
            return exec_err!("`{path}` already exists (mode: error_if_exists)");
        }
        if mode == WriteMode::Append && exists {
            let file = OpenOptions::new()
                .append(true)
                .open(&target)
                .map_err(|e| io_err("open for append", &target, e))?;
            let len = file
                .metadata()
                .map_err(|e| io_err("stat", &target, e))?
                .len();
            let journal = Journal::begin(&target, len)?;
            track(&target, Some(len));
            return Ok(Output::Local(LocalOutput {
                file: Some(file),
                temp: None,
                target,
                mode,
                appended_from: Some(len),
                journal: Some(journal),
                bytes: 0,
                committed: false,
            }));
        }
        let temp = durable::temp_path(&target);
        let file = File::create(&temp).map_err(|e| io_err("create", &temp, e))?;
        track(&temp, None);
        Ok(Output::Local(LocalOutput {
            file: Some(file),
            temp: Some(temp),
            target,
            mode,
            appended_from: None,
            journal: None,
            bytes: 0,
            committed: false,
        }))
    }

    /// Whether this continues an existing non-empty file.
    pub fn appending(&self) -> bool {
        matches!(self, Output::Local(l) if l.appended_from.is_some_and(|n| n > 0))
    }

    pub async fn write(&mut self, data: Vec<u8>) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        match self {
            Output::Local(l) => {
                let path = l.temp.clone().unwrap_or_else(|| l.target.clone());
                let file = l
                    .file
                    .as_mut()
                    .ok_or_else(|| DataFusionError::Internal("file closed".into()))?;
                file.write_all(&data)
                    .map_err(|e| io_err("write", &path, e))?;
                l.bytes += data.len() as u64;
            }
            Output::Store { writer, bytes } => {
                writer.write_all(&data).await?;
                *bytes += data.len() as u64;
            }
            Output::Epoch(e) => e.write(&data).await?,
        }
        Ok(())
    }

    pub async fn commit(mut self) -> Result<u64> {
        if let Output::Epoch(e) = self {
            return e.commit().await;
        }
        match &mut self {
            Output::Local(l) => {
                let file = l
                    .file
                    .take()
                    .ok_or_else(|| DataFusionError::Internal("file closed".into()))?;
                if let Some(temp) = &l.temp {
                    if l.mode == WriteMode::ErrorIfExists && l.target.exists() {
                        return exec_err!(
                            "`{}` appeared while writing (mode: error_if_exists)",
                            l.target.display()
                        );
                    }
                    durable::publish(file, temp, &l.target)
                        .map_err(|e| io_err("publish", &l.target, e))?;
                } else if let Some(journal) = l.journal.take() {
                    // On failure the journal stays: the next run cuts the file back.
                    journal.commit(file)?;
                }
                untrack(l.temp.as_ref().unwrap_or(&l.target));
                l.committed = true;
                Ok(l.bytes)
            }
            Output::Store { writer, bytes } => {
                writer.shutdown().await?;
                Ok(*bytes)
            }
            Output::Epoch(_) => Err(DataFusionError::Internal(
                "an epoch commits by itself".into(),
            )),
        }
    }

    /// Holds the output for commit when the write succeeded (`Ok(rows)`), else rolls back
    /// and returns the error.
    pub async fn settle(self, written: Result<u64>, target: &str) -> Result<Box<dyn Pending>> {
        match written {
            Ok(rows) => Ok(Box::new(PendingFile {
                out: self,
                rows,
                target: target.to_string(),
            })),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    pub async fn abort(self) {
        match self {
            Output::Local(l) => drop(l),
            Output::Store { mut writer, .. } => {
                let _ = writer.abort().await;
            }
            Output::Epoch(e) => e.abort().await,
        }
    }
}

/// Checks that a delimiter-like option is one ASCII character.
/// A written output file waiting for the job's other outputs; dropped, it rolls back.
struct PendingFile {
    out: Output,
    rows: u64,
    target: String,
}

#[async_trait]
impl Pending for PendingFile {
    async fn commit(self: Box<Self>) -> Result<SinkSummary> {
        Ok(SinkSummary {
            rows: self.rows,
            bytes: self.out.commit().await?,
            target: self.target,
        })
    }

    async fn abort(self: Box<Self>) {
        self.out.abort().await;
    }
}

pub fn single_byte(key: &str, s: &str) -> Result<u8, OptionError> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ if s == "\\t" => Ok(b'\t'),
        _ => Err(OptionError::new(
            key,
            format!("expected one ASCII character (e.g. \",\", \";\", \"\\t\"), found {s:?}"),
        )),
    }
}

/// Schema with every field as nullable text (CSV `all_strings`).
pub fn all_strings(schema: &Schema) -> SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field};
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// Most rows a file source reads to infer its schema.
pub const MAX_INFER_ROWS: usize = 10_000_000;

/// Compression of input files.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// From the file extension: `.gz`, `.zst`, `.bz2`, `.xz`, else none.
    #[default]
    Auto,
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    pub fn resolve(self, path: &str) -> FileCompressionType {
        match self {
            Compression::Auto => match path.rsplit('.').next() {
                Some("gz") => FileCompressionType::GZIP,
                Some("zst") => FileCompressionType::ZSTD,
                Some("bz2") => FileCompressionType::BZIP2,
                Some("xz") => FileCompressionType::XZ,
                _ => FileCompressionType::UNCOMPRESSED,
            },
            Compression::None => FileCompressionType::UNCOMPRESSED,
            Compression::Gzip => FileCompressionType::GZIP,
            Compression::Zstd => FileCompressionType::ZSTD,
            Compression::Bzip2 => FileCompressionType::BZIP2,
            Compression::Xz => FileCompressionType::XZ,
        }
    }
}

/// Resolves `mode` and the FustGo `append` flag into one mode.
pub fn write_mode(mode: Option<WriteMode>, append: Option<bool>) -> Result<WriteMode, OptionError> {
    match (mode, append) {
        (Some(m), Some(true)) if m != WriteMode::Append => Err(OptionError::new(
            "append",
            "`append: true` contradicts `mode`; give only one of them",
        )),
        (Some(m), _) => Ok(m),
        (None, Some(true)) => Ok(WriteMode::Append),
        (None, _) => Ok(WriteMode::Overwrite),
    }
}
