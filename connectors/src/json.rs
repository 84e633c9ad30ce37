//! JSON files: newline-delimited or one JSON array, nested objects as Arrow structs and
//! lists; the sink writes newline-delimited JSON (or an array).

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::json::writer::{JsonArray, Writer};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, SinkSummary, Source, Typed};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::csv::{Compression, write_mode};
use crate::file::{
    BatchEncoder, Encoder, ListingSource, SharedBuf, WriteMode, write_file, write_file_parallel,
};
use crate::storage::StorageOptions;

/// How the JSON is laid out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonLayout {
    /// `ndjson` unless a local file starts with `[`.
    #[default]
    Auto,
    /// One object per line.
    Ndjson,
    /// One array of objects.
    Array,
}

const fn infer_rows() -> usize {
    1000
}

/// Read JSON files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JsonSourceConfig {
    /// A file, a directory, a glob or a URL.
    pub path: String,
    /// `auto`, `ndjson` (one object per line) or `array`.
    #[serde(default)]
    pub format: JsonLayout,
    /// Rows read to infer the schema.
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
    /// Input compression.
    #[serde(default)]
    pub compression: Compression,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

/// The local file itself, or the first file of a local directory; `None` for globs, URLs
/// and missing paths (those are reported when the table is listed).
fn first_local_file(path: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(path);
    if p.is_dir() {
        std::fs::read_dir(p)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| p.is_file())))
    } else {
        p.is_file().then(|| p.to_path_buf())
    }
}

/// Whether a local file (or the first file of a local directory) starts with `[`.
fn looks_like_array(path: &str) -> bool {
    let Some(Ok(f)) = first_local_file(path).map(std::fs::File::open) else {
        return false;
    };
    let mut head = Vec::with_capacity(256);
    let _ = f.take(256).read_to_end(&mut head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// The schema of the first `limit` objects of a JSON array file (the first file of a
/// directory), or `None` when the path is a glob or does not exist (reported later).
fn array_schema(path: &str, limit: usize) -> Result<Option<SchemaRef>, String> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    use std::cell::RefCell;
    let Some(file) = first_local_file(path) else {
        return Ok(None);
    };
    let f =
        std::fs::File::open(&file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    struct FirstN<'a>(usize, &'a RefCell<Vec<serde_json::Value>>);
    impl<'de> Visitor<'de> for FirstN<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while self.1.borrow().len() < self.0 {
                match seq.next_element::<serde_json::Value>()? {
                    Some(v) => self.1.borrow_mut().push(v),
                    None => break,
                }
            }
            Ok(())
        }
    }
    let values = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(f));
    // Stopping early leaves the array unfinished, which serde reports: only the objects
    // read matter here, and a real syntax error before them is still an error.
    let result = (&mut de).deserialize_seq(FirstN(limit, &values));
    let values = values.into_inner();
    if let Err(e) = result
        && values.is_empty()
    {
        return Err(format!(
            "{} is not a JSON array of objects: {e}",
            file.display()
        ));
    }
    let schema =
        datafusion::arrow::json::reader::infer_json_schema_from_iterator(values.iter().map(Ok))
            .map_err(|e| format!("cannot infer the schema of {}: {e}", file.display()))?;
    Ok(Some(Arc::new(schema)))
}

fn build_source(c: JsonSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    if c.infer_rows == 0 {
        return Err(OptionError::new("infer_rows", "must be at least 1"));
    }
    let array = match c.format {
        JsonLayout::Auto => !c.path.contains("://") && looks_like_array(&c.path),
        JsonLayout::Ndjson => false,
        JsonLayout::Array => true,
    };
    let compression = c.compression.resolve(&c.path);
    // DataFusion infers an array's schema line by line, which fails on pretty-printed
    // arrays; infer it here from the first objects of a local, uncompressed file.
    let schema =
        if array && !c.path.contains("://") && compression == FileCompressionType::UNCOMPRESSED {
            array_schema(&c.path, c.infer_rows).map_err(|e| OptionError::new("path", e))?
        } else {
            None
        };
    let format = JsonFormat::default()
        .with_newline_delimited(!array)
        .with_schema_infer_max_rec(c.infer_rows)
        .with_file_compression_type(compression);
    Ok(Arc::new(ListingSource {
        path: c.path,
        format: Arc::new(format),
        extension: ".json",
        storage: c.storage,
        fix_schema: None,
        null_value: None,
        schema,
        listed_bytes: Default::default(),
        fast_csv: None,
    }))
}

/// Write one JSON file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JsonSinkConfig {
    /// Output file (local path or `s3://` URL).
    pub path: String,
    /// `ndjson` (default; one object per line) or `array`.
    #[serde(default)]
    pub format: JsonLayout,
    /// FustGo DataX compatibility: `append: true` is `mode: append`.
    #[serde(default)]
    pub append: Option<bool>,
    /// What to do when the file exists: `overwrite` (default), `append` (ndjson), `error_if_exists`.
    #[serde(default)]
    pub mode: Option<WriteMode>,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

#[derive(Debug)]
struct JsonSink {
    config: JsonSinkConfig,
    mode: WriteMode,
}

/// The JSON array writer (one document, so batches are encoded in order).
struct JsonEncoder(Writer<SharedBuf, JsonArray>);

impl Encoder for JsonEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        Ok(self.0.finish()?)
    }
}

#[async_trait::async_trait]
impl Sink for JsonSink {
    async fn write(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<SinkSummary> {
        let array = self.config.format == JsonLayout::Array;
        let c = &self.config;
        if !array {
            let encode: BatchEncoder = Arc::new(|batch: &RecordBatch| {
                let mut w =
                    LineDelimitedWriter::new(Vec::with_capacity(batch.get_array_memory_size()));
                w.write(batch)?;
                w.finish()?;
                Ok(w.into_inner())
            });
            return write_file_parallel(
                ctx,
                &c.path,
                self.mode,
                &c.storage,
                stream,
                Vec::new(),
                encode,
            )
            .await;
        }
        let make = |_: SchemaRef, buf: SharedBuf, _: bool| -> Result<Box<dyn Encoder>> {
            Ok(Box::new(JsonEncoder(Writer::new(buf))))
        };
        write_file(ctx, &c.path, self.mode, &c.storage, stream, &make).await
    }
}

fn build_sink(c: JsonSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    let mode = write_mode(c.mode, c.append)?;
    if mode == WriteMode::Append && c.format == JsonLayout::Array {
        return Err(OptionError::new(
            "mode",
            "`append` works with `format: ndjson` only",
        ));
    }
    Ok(Arc::new(JsonSink { config: c, mode }))
}

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "json",
        PluginRole::Source,
        "JSON files: newline-delimited or an array; nested objects become structs and lists",
        "type: json\npath: data/events.ndjson\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "json",
        PluginRole::Sink,
        "One newline-delimited JSON file (or an array), published atomically",
        "type: json\npath: out/events.ndjson\n",
        build_sink,
    )));
}
