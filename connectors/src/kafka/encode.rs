//! How the `kafka` output turns a batch into records: each row's value (one JSON object
//! or one CSV line, written for the whole batch by Arrow's writers and cut at the row
//! ends) and its key (a column or a SQL expression, evaluated on the batch).

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::common::DFSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::col;
use datafusion::prelude::SessionContext;

use super::config::SinkFormat;

/// The values of a batch's rows: their text, and each row's range in it.
pub(super) struct Values {
    pub text: Vec<u8>,
    pub rows: Vec<Range<usize>>,
}

impl Values {
    /// The rows of `batch` in `format`.
    pub fn encode(batch: &RecordBatch, format: SinkFormat) -> Result<Values> {
        let mut text = Vec::with_capacity(batch.get_array_memory_size());
        let quote = match format {
            SinkFormat::Json => {
                let mut w = LineDelimitedWriter::new(&mut text);
                w.write(batch)?;
                w.finish()?;
                None
            }
            SinkFormat::Csv => {
                CsvWriterBuilder::new()
                    .with_header(false)
                    .build(&mut text)
                    .write(batch)?;
                Some(b'"')
            }
        };
        let rows = row_ranges(&text, quote);
        if rows.len() != batch.num_rows() {
            return Err(DataFusionError::Internal(format!(
                "kafka output: {} rows were written as {} records",
                batch.num_rows(),
                rows.len()
            )));
        }
        Ok(Values { text, rows })
    }
}

/// The lines of `text` (without their line ends), a line end inside `quote`s (a CSV
/// value holding one) not ending a line. JSON escapes its line ends, so needs no quote.
fn row_ranges(text: &[u8], quote: Option<u8>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, &b) in text.iter().enumerate() {
        if Some(b) == quote {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            let end = if i > start && text[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            out.push(start..end);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// `key:` compiled against the output's columns.
#[derive(Debug)]
pub(super) struct RecordKey {
    text: String,
    expr: Arc<dyn PhysicalExpr>,
}

impl RecordKey {
    /// A column of `schema` when `key` names one, else a SQL expression over them.
    pub fn compile(key: &str, schema: &SchemaRef, ctx: &SessionContext) -> Result<RecordKey> {
        let expr = match schema.index_of(key) {
            Ok(_) => col(key, schema)?,
            Err(_) => {
                let fail = |e: DataFusionError| {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    DataFusionError::Plan(format!(
                        "key: `{key}` is neither a column ({}) nor a SQL expression over them: {e}",
                        names.join(", ")
                    ))
                };
                fust_engine::sql_text::check(key).map_err(fail)?;
                let df = DFSchema::try_from(schema.as_ref().clone())?;
                let logical = ctx.parse_sql_expr(key, &df).map_err(fail)?;
                ctx.create_physical_expr(logical, &df).map_err(fail)?
            }
        };
        Ok(RecordKey {
            text: key.to_string(),
            expr,
        })
    }

    /// The keys of the batch's rows as bytes (text as UTF-8); null: no key.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BinaryArray> {
        let values: ArrayRef = self.expr.evaluate(batch)?.into_array(batch.num_rows())?;
        let as_bytes = |a: &ArrayRef| -> std::result::Result<ArrayRef, _> {
            match a.data_type() {
                DataType::Binary => Ok(a.clone()),
                DataType::Utf8 | DataType::LargeBinary => cast(a, &DataType::Binary),
                _ => cast(&cast(a, &DataType::Utf8)?, &DataType::Binary),
            }
        };
        let bytes = as_bytes(&values).map_err(|e| {
            DataFusionError::Execution(format!(
                "key: `{}` is of type {}, which cannot be a record key: {e}",
                self.text,
                values.data_type()
            ))
        })?;
        Ok(bytes.as_binary::<i32>().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![
                    Some("two\nlines, \"quoted\""),
                    None,
                ])),
            ],
        )
        .expect("batch")
    }

    fn rows(v: &Values) -> Vec<String> {
        v.rows
            .iter()
            .map(|r| String::from_utf8_lossy(&v.text[r.clone()]).into_owned())
            .collect()
    }

    #[test]
    fn csv_values_keep_their_line_ends() {
        let v = Values::encode(&batch(), SinkFormat::Csv).expect("csv");
        assert_eq!(rows(&v), ["1,\"two\nlines, \"\"quoted\"\"\"", "2,"]);
    }

    #[test]
    fn json_values_are_one_object_per_row() {
        let v = Values::encode(&batch(), SinkFormat::Json).expect("json");
        assert_eq!(
            rows(&v),
            [r#"{"id":1,"note":"two\nlines, \"quoted\""}"#, r#"{"id":2}"#]
        );
    }

    #[test]
    fn keys_from_a_column_or_an_expression() {
        let b = batch();
        let ctx = SessionContext::new();
        let k = RecordKey::compile("id", &b.schema(), &ctx).expect("column");
        assert_eq!(k.evaluate(&b).expect("keys").value(1), b"2");
        let k = RecordKey::compile("concat('k-', id * 10)", &b.schema(), &ctx).expect("expr");
        assert_eq!(k.evaluate(&b).expect("keys").value(0), b"k-10");
        let e = RecordKey::compile("nope + 1", &b.schema(), &ctx).expect_err("unknown");
        assert!(e.to_string().contains("key: `nope + 1`"), "{e}");
    }
}
