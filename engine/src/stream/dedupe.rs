//! The state of a `deduplicate` with `ttl` in a stream job: the keys seen and when (ms
//! since the Unix epoch, processing time). A record whose key was seen within `ttl` in an
//! earlier epoch is dropped; the keys commit with every epoch, so a restart drops what the
//! last run had already let through.

use std::collections::HashMap;

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::error::{DataFusionError, Result};

use crate::plugin::KeyTtl;
use crate::rejects::row_json;

#[derive(Debug, Clone)]
pub struct SeenKeys {
    pub key: KeyTtl,
    seen: HashMap<String, i64>,
}

impl SeenKeys {
    pub fn new(key: KeyTtl) -> Self {
        Self {
            key,
            seen: HashMap::new(),
        }
    }

    /// `batches` without the records whose key was seen within `ttl` before `now`; the
    /// others' keys are remembered from `now`, and keys older than `ttl` forgotten.
    pub fn filter(&mut self, batches: Vec<RecordBatch>, now: i64) -> Result<Vec<RecordBatch>> {
        let ttl = self.key.ttl_ms;
        self.seen.retain(|_, at| now - *at < ttl);
        let mut out = Vec::with_capacity(batches.len());
        for batch in batches {
            let indices = self
                .key
                .key_columns
                .iter()
                .map(|k| {
                    batch.schema().index_of(k).map_err(|_| {
                        DataFusionError::Plan(format!("deduplicate: no key column `{k}`"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let keys = batch.project(&indices)?;
            let keep: BooleanArray = (0..batch.num_rows())
                .map(|row| {
                    let key = row_json(&keys, row);
                    Some(self.seen.insert(key, now).is_none())
                })
                .collect();
            let kept = filter_record_batch(&batch, &keep)?;
            if kept.num_rows() > 0 {
                out.push(kept);
            }
        }
        Ok(out)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&self.seen).map_err(|e| DataFusionError::External(Box::new(e)))
    }

    pub fn decode(key: KeyTtl, bytes: &[u8]) -> Result<Self> {
        let seen = serde_json::from_slice(bytes).map_err(|_| {
            DataFusionError::Execution(
                "the stored deduplicate keys are not readable; remove them (the job's row in fust_stream_state, or the output's _fust/ files) to start over".into(),
            )
        })?;
        Ok(Self { key, seen })
    }
}
