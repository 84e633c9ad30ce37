//! JSON records (serde values) to Arrow batches of a given schema, finding the records
//! that do not fit: the `http` input's pages and the `json` input's lines with bad
//! records tolerated.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::reader::ReaderBuilder;
use serde_json::Value;

/// `records` (each with its position, e.g. a line number) as one batch of `schema`, and
/// those that do not fit (a value of another type) with the decoder's reason. The whole
/// batch is decoded at once; only when that fails are the records tried one by one.
pub fn decode_records(
    schema: &SchemaRef,
    records: &[(usize, &Value)],
) -> Result<(RecordBatch, Vec<(usize, String)>), ArrowError> {
    if let Ok(batch) = decode(schema, records) {
        return Ok((batch, Vec::new()));
    }
    let mut good = Vec::with_capacity(records.len());
    let mut bad = Vec::new();
    for &(at, record) in records {
        match decode(schema, &[(at, record)]) {
            Ok(_) => good.push((at, record)),
            Err(e) => bad.push((at, e.to_string())),
        }
    }
    Ok((decode(schema, &good)?, bad))
}

fn decode(schema: &SchemaRef, records: &[(usize, &Value)]) -> Result<RecordBatch, ArrowError> {
    let values: Vec<&Value> = records.iter().map(|(_, v)| *v).collect();
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_coerce_primitive(true)
        .with_batch_size(values.len().max(1))
        .build_decoder()?;
    decoder.serialize(&values)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone())))
}
