//! The `json` input: newline-delimited or array files, schema inferred across rows.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::error::Result;
use fust_engine::{OptionError, Source, StageRejects};

use super::config::{JsonLayout, JsonSourceConfig};
use super::lenient::{self, LenientJson};
use crate::common::file::{LenientInfer, ListingSource, LocalScan, MAX_INFER_ROWS};
use crate::common::{ConnectorError, ConnectorResult};

/// The local file itself, or the first file of a local directory; `None` for globs, URLs
/// and missing paths (those are reported when the table is listed).
pub(super) fn first_local_file(path: &str) -> Option<PathBuf> {
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
pub(super) fn looks_like_array(path: &str) -> bool {
    let Some(Ok(f)) = first_local_file(path).map(std::fs::File::open) else {
        return false;
    };
    let mut head = Vec::with_capacity(256);
    let _ = f.take(256).read_to_end(&mut head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// The schema of the first `limit` objects of a JSON array file (the first file of a
/// directory), or `None` when the path is a glob or does not exist (reported later).
pub(super) fn array_schema(path: &str, limit: usize) -> ConnectorResult<Option<SchemaRef>> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    use std::cell::RefCell;
    let Some(file) = first_local_file(path) else {
        return Ok(None);
    };
    let f = std::fs::File::open(&file).map_err(|source| ConnectorError::Io {
        context: format!("cannot open {}", file.display()),
        source,
    })?;
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
        return Err(ConnectorError::Malformed(format!(
            "{} is not a JSON array of objects: {e}",
            file.display()
        )));
    }
    let schema =
        datafusion::arrow::json::reader::infer_json_schema_from_iterator(values.iter().map(Ok))
            .map_err(|e| {
                ConnectorError::Malformed(format!(
                    "cannot infer the schema of {}: {e}",
                    file.display()
                ))
            })?;
    Ok(Some(Arc::new(schema)))
}

pub(super) fn build_source(c: JsonSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    OptionError::check_range("infer_rows", c.infer_rows, 1, MAX_INFER_ROWS)?;
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
            array_schema(&c.path, c.infer_rows)
                .map_err(|e| OptionError::new("path", e.to_string()))?
        } else {
            None
        };
    // With bad records tolerated, Fust's line reader takes local NDJSON files.
    let lenient = !array && !c.path.contains("://") && compression == FileCompressionType::UNCOMPRESSED;
    let infer_rows = c.infer_rows;
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
        local_scan: lenient.then(|| {
            Arc::new(|paths: &[(PathBuf, u64)], schema: SchemaRef, rejects: StageRejects| {
                rejects.tolerates().then(|| {
                    Arc::new(LenientJson {
                        files: paths.to_vec(),
                        schema,
                        rejects,
                    }) as Arc<dyn TableProvider>
                })
            }) as LocalScan
        }),
        zero_padded_as_text: None,
        lenient_format: None,
        lenient_infer: lenient.then(|| {
            Arc::new(move |paths: &[(PathBuf, u64)]| lenient::infer(paths, infer_rows))
                as LenientInfer
        }),
    }))
}
