//! `checked(f)`: a function that never fails on a value. It calls `f` on the whole batch
//! as usual; only when that fails does it call `f` row by row, to find which values fail
//! and keep their error messages. It returns a struct `{value, error}`: `f`'s result (NULL
//! where it failed) and the error text (NULL where it did not). Processors that convert
//! values use it to turn a value that does not convert into a bad record
//! ([`crate::reject_plan`]) instead of a failed run.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder, StructArray, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options, concat};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// `f` made [checked](self).
pub fn checked(f: Arc<ScalarUDF>) -> ScalarUDF {
    ScalarUDF::new_from_impl(Checked {
        name: format!("checked_{}", f.name()),
        inner: f,
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Checked {
    name: String,
    inner: Arc<ScalarUDF>,
}

fn struct_fields(value: &Field) -> Fields {
    Fields::from(vec![
        Field::new("value", value.data_type().clone(), true),
        Field::new("error", DataType::Utf8, true),
    ])
}

impl ScalarUDFImpl for Checked {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(
            "checked functions give their type from their arguments".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let value = self.inner.return_field_from_args(args)?;
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Struct(struct_fields(&value)),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Struct(fields) = args.return_field.data_type() else {
            return Err(DataFusionError::Internal("checked: not a struct".into()));
        };
        let value_field = fields[0].clone();
        let rows = args.number_rows;
        let inner_args = |values: Vec<ColumnarValue>, number_rows: usize| ScalarFunctionArgs {
            args: values,
            arg_fields: args.arg_fields.clone(),
            number_rows,
            return_field: value_field.clone(),
            config_options: args.config_options.clone(),
        };
        let whole = self
            .inner
            .invoke_with_args(inner_args(args.args.clone(), rows))
            .and_then(|v| v.into_array(rows));
        let (values, errors) = match whole {
            Ok(values) => (values, new_null_array(&DataType::Utf8, rows)),
            // Row by row, only for a batch with a value that fails.
            Err(_) => {
                let mut parts: Vec<ArrayRef> = Vec::with_capacity(rows);
                let mut errors = StringBuilder::new();
                for row in 0..rows {
                    let one = args
                        .args
                        .iter()
                        .map(|a| match a {
                            ColumnarValue::Array(a) => ColumnarValue::Array(a.slice(row, 1)),
                            scalar => scalar.clone(),
                        })
                        .collect();
                    match self
                        .inner
                        .invoke_with_args(inner_args(one, 1))
                        .and_then(|v| v.into_array(1))
                    {
                        Ok(v) => {
                            parts.push(v);
                            errors.append_null();
                        }
                        Err(e) => {
                            parts.push(new_null_array(value_field.data_type(), 1));
                            // A row number in the function's message counts in this
                            // one-row call: leave it out.
                            let name = self.inner.name();
                            let message = crate::error::clean_message(&e).replacen(
                                &format!("{name}: row 1: "),
                                &format!("{name}: "),
                                1,
                            );
                            errors.append_value(message);
                        }
                    }
                }
                let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                let values = match refs.is_empty() {
                    true => new_null_array(value_field.data_type(), 0),
                    false => concat(&refs)?,
                };
                (values, Arc::new(errors.finish()) as ArrayRef)
            }
        };
        let array = StructArray::try_new(fields.clone(), vec![values, errors], None)?;
        Ok(ColumnarValue::Array(Arc::new(array)))
    }
}

/// `cast_to(value, 'Arrow type')`: Arrow's cast kernel, failing on a value that does not
/// convert, as SQL's `CAST` does; unlike DataFusion's `arrow_cast` it stays a function
/// call in the plan, so it can be made [`checked`].
pub fn cast_to() -> ScalarUDF {
    ScalarUDF::new_from_impl(CastTo {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CastTo {
    signature: Signature,
}

impl ScalarUDFImpl for CastTo {
    fn name(&self) -> &str {
        "cast_to"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Plan(
            "cast_to: the type comes from its second argument".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let data_type = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(t)))) => t.parse::<DataType>().map_err(|e| {
                DataFusionError::Plan(format!("cast_to: '{t}' is not an Arrow type ({e})"))
            })?,
            _ => {
                return Err(DataFusionError::Plan(
                    "cast_to(value, 'type'): the type must be a string literal".into(),
                ));
            }
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = args.args[0].to_array(args.number_rows)?;
        let options = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        Ok(ColumnarValue::Array(cast_with_options(
            &value,
            args.return_field.data_type(),
            &options,
        )?))
    }
}
