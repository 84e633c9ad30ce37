//! `json_encode(value)` and `json_decode(text, 'type')`: any Arrow value to JSON text and
//! JSON text to a typed value, through arrow-json's writer and decoder, a batch at a time.
//! The `transform` processor's `json_encode` and `json_decode` steps call them; SQL can
//! too (`json_decode(payload, 'Struct("id": Int64, "name": Utf8)')`, the type as Arrow
//! writes it). For reading single paths, datafusion-functions-json's `json_get_*` are
//! registered as well.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringBuilder, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{LineDelimitedWriter, ReaderBuilder};
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// The most of a bad value an error message shows.
const SHOWN: usize = 60;

/// `json_encode(value)`: the value as JSON text (objects for structs, arrays for lists);
/// NULL stays NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonEncode {
    signature: Signature,
}

pub fn json_encode() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonEncode {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

impl ScalarUDFImpl for JsonEncode {
    fn name(&self) -> &str {
        "json_encode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(encode(&values)?))
    }
}

/// Each value of `values` as JSON text: the array goes through arrow-json's line writer
/// as the one column `v` of a batch, and each line's `{"v":…}` is unwrapped.
fn encode(values: &ArrayRef) -> Result<ArrayRef> {
    let schema = Schema::new(vec![Field::new("v", values.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![values.clone()])?;
    let mut writer = LineDelimitedWriter::new(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    let text = String::from_utf8(writer.into_inner())
        .map_err(|e| DataFusionError::Execution(format!("json_encode: {e}")))?;
    let mut out = StringBuilder::with_capacity(values.len(), text.len());
    for (i, line) in text.lines().take(values.len()).enumerate() {
        let inner = line
            .strip_prefix("{\"v\":")
            .and_then(|s| s.strip_suffix('}'));
        match inner {
            Some(json) if values.is_valid(i) => out.append_value(json),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `json_decode(text, 'type')`: JSON text to a value of the Arrow type named by the second
/// argument (a literal). Fields missing from an object are NULL, extra ones ignored; text
/// that is not one JSON value of that shape fails with its row and the start of the text.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonDecode {
    signature: Signature,
}

pub fn json_decode() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonDecode {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

/// The type a `json_decode` call returns: its second argument, which must be a literal.
fn target_type(arg: Option<&Option<&ScalarValue>>) -> Result<DataType> {
    match arg {
        Some(Some(ScalarValue::Utf8(Some(t)) | ScalarValue::LargeUtf8(Some(t)))) => {
            t.parse::<DataType>().map_err(|e| {
                DataFusionError::Plan(format!(
                    "json_decode: '{t}' is not an Arrow type ({e}); e.g. 'Struct(\"id\": Int64)'"
                ))
            })
        }
        _ => plan_err!("json_decode(text, 'type'): the type must be a string literal"),
    }
}

impl ScalarUDFImpl for JsonDecode {
    fn name(&self) -> &str {
        "json_decode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        plan_err!("json_decode: the type comes from its second argument")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let data_type = target_type(args.scalar_arguments.get(1))?;
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let data_type = args.return_field.data_type().clone();
        let text = args.args[0].to_array(args.number_rows)?;
        let text = match text.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                datafusion::arrow::compute::cast(&text, &DataType::Utf8)?
            }
            DataType::Null => text,
            other => return exec_err!("json_decode: the value must be text, not {other}"),
        };
        Ok(ColumnarValue::Array(decode(&text, data_type)?))
    }
}

/// Decodes each row of `text` (Utf8 or all-NULL) as one JSON value of `data_type`.
pub fn decode(text: &ArrayRef, data_type: DataType) -> Result<ArrayRef> {
    let rows = text.len();
    let field = Field::new("v", data_type.clone(), true);
    let mut decoder = ReaderBuilder::new_with_field(field)
        .with_batch_size(rows.max(1))
        .build_decoder()?;
    let strings = (text.data_type() == &DataType::Utf8).then(|| text.as_string::<i32>());
    let value = |row: usize| {
        strings
            .filter(|s| s.is_valid(row))
            .map_or("null", |s| s.value(row))
    };
    let bad = |row: usize, why: &dyn std::fmt::Display| {
        let value = value(row);
        let shown: String = value.chars().take(SHOWN).collect();
        let more = if shown.len() < value.len() { "…" } else { "" };
        DataFusionError::Execution(format!(
            "json_decode: row {}: {why}: '{shown}{more}'",
            row + 1
        ))
    };
    for row in 0..rows {
        decoder
            .decode(value(row).as_bytes())
            .and_then(|_| decoder.decode(b"\n"))
            .map_err(|e| bad(row, &e))?;
        if decoder.has_partial_record() || decoder.len() != row + 1 {
            return Err(bad(row, &"not one JSON value"));
        }
    }
    match decoder.flush() {
        Ok(Some(batch)) => Ok(batch.column(0).clone()),
        Ok(None) => Ok(new_null_array(&data_type, 0)),
        // A value of the wrong type shows only when the batch is built: find its row.
        Err(e) => {
            for row in 0..rows {
                let one = text.slice(row, 1);
                if let Err(e) = decode_one(&one, &data_type) {
                    return Err(bad(row, &e));
                }
            }
            exec_err!("json_decode: {e}")
        }
    }
}

/// Decodes a one-row slice, for finding the row a batch error came from.
fn decode_one(text: &ArrayRef, data_type: &DataType) -> Result<(), ArrowError> {
    let value = text
        .as_string_opt::<i32>()
        .filter(|s| s.is_valid(0))
        .map_or("null", |s| s.value(0));
    let field = Field::new("v", data_type.clone(), true);
    let mut decoder = ReaderBuilder::new_with_field(field).build_decoder()?;
    decoder.decode(value.as_bytes())?;
    decoder.flush().map(|_| ())
}
