//! The `parquet` input: a listing table with projection and predicate pushdown.

use std::sync::Arc;

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::error::Result;
use fust_engine::{OptionError, Source};

use super::config::ParquetSourceConfig;
use crate::common::file::ListingSource;

pub(super) fn build_source(c: ParquetSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    Ok(Arc::new(ListingSource {
        path: c.path,
        // Keep field metadata: it carries database types (`pg_type`, `mysql_type`) across files.
        format: Arc::new(ParquetFormat::default().with_skip_metadata(false)),
        extension: ".parquet",
        storage: c.storage,
        fix_schema: None,
        null_value: None,
        schema: None,
        listed_bytes: Default::default(),
        local_scan: None,
        zero_padded_as_text: None,
        lenient_infer: None,
        lenient_format: None,
    }))
}
