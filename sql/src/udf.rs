//! `fust_cast_failed(column, type, value)`: raises a cast error that names the column, the
//! value and the target type. The `mapping` processor puts it in the branch of a `CASE`
//! that only rows whose value can't be converted reach, so it never runs on good data.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, cast,
    lit, try_cast, when,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct CastFailed {
    signature: Signature,
}

impl ScalarUDFImpl for CastFailed {
    fn name(&self) -> &str {
        "fust_cast_failed"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Null)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = |v: &ColumnarValue| match v {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => s.clone(),
            other => format!("{other:?}"),
        };
        let (column, ty) = (text(&args.args[0]), text(&args.args[1]));
        let value = match &args.args[2] {
            ColumnarValue::Array(a) => (0..a.len())
                .find(|&i| a.is_valid(i))
                .map(|i| array_value_to_string(a, i).unwrap_or_default()),
            ColumnarValue::Scalar(s) => (!s.is_null()).then(|| s.to_string()),
        };
        match value {
            Some(v) => {
                exec_err!("cast: column `{column}`: value '{v}' cannot be converted to {ty}")
            }
            None => Ok(ColumnarValue::Array(new_null_array(
                &DataType::Null,
                args.number_rows,
            ))),
        }
    }
}

static CAST_FAILED: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(CastFailed {
        signature: Signature::any(3, Volatility::Volatile),
    }))
});

/// `CAST(value AS data_type)` that fails with the column, the value and the type named.
pub fn checked_cast(
    value: Expr,
    column: &str,
    type_name: &str,
    data_type: DataType,
) -> Result<Expr> {
    let converted = try_cast(value.clone(), data_type.clone());
    let failed = value.clone().is_not_null().and(converted.clone().is_null());
    let raise = CAST_FAILED.call(vec![
        lit(column),
        lit(type_name),
        cast(value, DataType::Utf8),
    ]);
    when(failed, cast(raise, data_type)).otherwise(converted)
}
