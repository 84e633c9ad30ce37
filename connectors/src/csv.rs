//! CSV files: a source (header, delimiter, quote, escape, type inference or all-strings,
//! type overrides, gzip/zstd) and a sink (header, delimiter, overwrite/append/error).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::plan_err;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_config::PluginRole;
use fust_engine::types::sql_type;
use fust_engine::{OptionError, Registry, Sink, SinkSummary, Source, Typed};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::csv_scan::CsvDialect;
use crate::file::{
    BatchEncoder, ListingSource, SchemaFix, WriteMode, all_strings, single_byte,
    write_file_parallel,
};
use crate::storage::StorageOptions;

const fn yes() -> bool {
    true
}

fn comma() -> String {
    ",".into()
}

fn dquote() -> String {
    "\"".into()
}

const fn infer_rows() -> usize {
    1000
}

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

/// Read CSV files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CsvSourceConfig {
    /// A file, a directory, a glob (`data/*.csv`) or a URL (`s3://bucket/dir/`).
    pub path: String,
    /// Whether the first line holds the column names (else columns are `column_1`, …).
    #[serde(default = "yes")]
    pub has_header: bool,
    /// Field separator, one character (`\t` for tabs).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character.
    #[serde(default = "dquote")]
    pub quote: String,
    /// Escape character inside quoted fields (default: doubled quotes).
    #[serde(default)]
    pub escape: Option<String>,
    /// Lines starting with this character are skipped.
    #[serde(default)]
    pub comment: Option<String>,
    /// Text that also means NULL, e.g. `NA` (an empty field is always NULL).
    #[serde(default)]
    pub null_value: Option<String>,
    /// Read every column as text instead of inferring types.
    #[serde(default)]
    pub all_strings: bool,
    /// Column types that override inference, `column: SQL type` (e.g. `id: bigint`).
    #[serde(default)]
    pub schema: IndexMap<String, String>,
    /// Rows read to infer column types.
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
    /// Allow quoted values that span lines (files are then read without splitting).
    #[serde(default)]
    pub newlines_in_values: bool,
    /// Input compression.
    #[serde(default)]
    pub compression: Compression,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

fn regex_escape(s: &str) -> String {
    let mut out = String::from("^");
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

fn build_source(c: CsvSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    let delimiter = single_byte("delimiter", &c.delimiter)?;
    let quote = single_byte("quote", &c.quote)?;
    let escape = c
        .escape
        .as_deref()
        .map(|e| single_byte("escape", e))
        .transpose()?;
    let comment = c
        .comment
        .as_deref()
        .map(|e| single_byte("comment", e))
        .transpose()?;
    let mut overrides = Vec::new();
    for (name, ty) in &c.schema {
        let t = sql_type(ty).map_err(|e| {
            OptionError::new(
                format!("schema.{name}"),
                fust_engine::error::clean_message(&e),
            )
        })?;
        overrides.push((name.clone(), t));
    }
    if c.infer_rows == 0 {
        return Err(OptionError::new("infer_rows", "must be at least 1"));
    }
    let compression = c.compression.resolve(&c.path);
    let format = CsvFormat::default()
        .with_has_header(c.has_header)
        .with_delimiter(delimiter)
        .with_quote(quote)
        .with_escape(escape)
        .with_comment(comment)
        .with_null_regex(c.null_value.as_deref().map(regex_escape))
        .with_newlines_in_values(c.newlines_in_values)
        .with_schema_infer_max_rec(c.infer_rows)
        .with_file_compression_type(compression);
    let strings = c.all_strings;
    let fix: Option<SchemaFix> = (strings || !overrides.is_empty()).then(|| {
        Arc::new(move |schema: SchemaRef| -> Result<SchemaRef> {
            let base = if strings {
                all_strings(&schema)
            } else {
                schema
            };
            let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
            for (name, ty) in &overrides {
                match fields.iter_mut().find(|f| f.name() == name) {
                    Some(f) => *f = Field::new(name, ty.clone(), true),
                    None => {
                        let names: Vec<&str> =
                            base.fields().iter().map(|f| f.name().as_str()).collect();
                        return plan_err!(
                            "schema: the file has no column `{name}`; columns: {}",
                            names.join(", ")
                        );
                    }
                }
            }
            Ok(Arc::new(Schema::new(fields)))
        }) as SchemaFix
    });
    // Fust's own reader takes plain files without escape or comment characters.
    let fast_csv =
        (compression == FileCompressionType::UNCOMPRESSED && escape.is_none() && comment.is_none())
            .then_some(CsvDialect {
                delimiter,
                quote,
                has_header: c.has_header,
                newlines_in_values: c.newlines_in_values,
            });
    let extension = match compression {
        FileCompressionType::UNCOMPRESSED => ".csv",
        _ => "",
    };
    Ok(Arc::new(ListingSource {
        path: c.path,
        format: Arc::new(format),
        extension,
        storage: c.storage,
        fix_schema: fix,
        null_value: c.null_value.clone(),
        schema: None,
        listed_bytes: Default::default(),
        fast_csv,
    }))
}

/// Write one CSV file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CsvSinkConfig {
    /// Output file (local path or `s3://` URL).
    pub path: String,
    /// Write a header line with the column names.
    #[serde(default = "yes")]
    pub write_header: bool,
    /// Field separator, one character.
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character.
    #[serde(default = "dquote")]
    pub quote: String,
    /// Text written for NULL (default: empty).
    #[serde(default)]
    pub null_value: String,
    /// FustGo DataX compatibility: `append: true` is `mode: append`.
    #[serde(default)]
    pub append: Option<bool>,
    /// What to do when the file exists: `overwrite` (default), `append`, `error_if_exists`.
    #[serde(default)]
    pub mode: Option<WriteMode>,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
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

#[derive(Debug)]
struct CsvSink {
    config: CsvSinkConfig,
    mode: WriteMode,
    delimiter: u8,
    quote: u8,
}

impl CsvSink {
    fn builder(&self) -> WriterBuilder {
        WriterBuilder::new()
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_null(self.config.null_value.clone())
    }
}

#[async_trait::async_trait]
impl Sink for CsvSink {
    async fn write(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<SinkSummary> {
        let c = &self.config;
        let mut header = Vec::new();
        if c.write_header {
            let mut w = self.builder().with_header(true).build(&mut header);
            w.write(&RecordBatch::new_empty(stream.schema()))?;
        }
        let builder = self.builder();
        let (delimiter, quote, null) = (self.delimiter, self.quote, c.null_value.clone());
        let encode: BatchEncoder = Arc::new(move |batch: &RecordBatch| {
            if let Some(bytes) = crate::csv_encode::encode(batch, delimiter, quote, &null) {
                return Ok(bytes);
            }
            // Text is usually larger than the Arrow data: avoid regrowing (copying) the buffer.
            let mut buf = Vec::with_capacity(batch.get_array_memory_size() * 3 / 2);
            builder
                .clone()
                .with_header(false)
                .build(&mut buf)
                .write(batch)?;
            Ok(buf)
        });
        write_file_parallel(ctx, &c.path, self.mode, &c.storage, stream, header, encode).await
    }
}

fn build_sink(c: CsvSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    let mode = write_mode(c.mode, c.append)?;
    let delimiter = single_byte("delimiter", &c.delimiter)?;
    let quote = single_byte("quote", &c.quote)?;
    Ok(Arc::new(CsvSink {
        config: c,
        mode,
        delimiter,
        quote,
    }))
}

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "csv",
        PluginRole::Source,
        "CSV files (local, glob, directory or s3://), with type inference",
        "type: csv\npath: data/orders.csv\nhas_header: true\ndelimiter: \",\"\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "csv",
        PluginRole::Sink,
        "One CSV file, published atomically",
        "type: csv\npath: out/orders.csv\nwrite_header: true\n",
        build_sink,
    )));
}
