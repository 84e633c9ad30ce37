//! The `csv` input: a listing table over the files, with Fust's own reader for plain local files.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::plan_err;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::error::Result;
use fust_engine::types::sql_type;
use fust_engine::{OptionError, Source};

use super::config::CsvSourceConfig;
use super::scan::{CsvDialect, CsvTable};
use crate::common::file::{
    ListingSource, LocalScan, MAX_INFER_ROWS, SchemaFix, all_strings, single_byte,
};

pub(super) fn regex_escape(s: &str) -> String {
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

pub(super) fn build_source(c: CsvSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
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
    OptionError::check_range("infer_rows", c.infer_rows, 1, MAX_INFER_ROWS)?;
    let compression = c.compression.resolve(&c.path);
    let format = || {
        CsvFormat::default()
            .with_has_header(c.has_header)
            .with_delimiter(delimiter)
            .with_quote(quote)
            .with_escape(escape)
            .with_comment(comment)
            .with_null_regex(c.null_value.as_deref().map(regex_escape))
            .with_newlines_in_values(c.newlines_in_values)
            .with_schema_infer_max_rec(c.infer_rows)
            .with_file_compression_type(compression)
    };
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
    let plain =
        compression == FileCompressionType::UNCOMPRESSED && escape.is_none() && comment.is_none();
    let dialect = CsvDialect {
        delimiter,
        quote,
        has_header: c.has_header,
        newlines_in_values: c.newlines_in_values,
    };
    let local_scan = plain.then(|| {
        Arc::new(
            move |paths: &[(PathBuf, u64)], schema: SchemaRef, rejects| {
                CsvTable::try_new(paths.to_vec(), schema, dialect)
                    .map(|t| Arc::new(t.with_rejects(rejects)) as Arc<dyn TableProvider>)
            },
        ) as LocalScan
    });
    let extension = match compression {
        FileCompressionType::UNCOMPRESSED => ".csv",
        _ => "",
    };
    Ok(Arc::new(ListingSource {
        path: c.path,
        format: Arc::new(format()),
        extension,
        storage: c.storage,
        fix_schema: fix,
        null_value: c.null_value.clone(),
        schema: None,
        listed_bytes: Default::default(),
        local_scan,
        zero_padded_as_text: (!c.all_strings).then_some(c.infer_rows),
        lenient_infer: None,
        lenient_format: Some(Arc::new(format().with_truncated_rows(true))),
    }))
}
