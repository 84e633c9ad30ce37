//! SQL functions a run's session has besides DataFusion's: datafusion-functions-json's
//! `json_get*` family, Fust's `json_encode`/`json_decode` ([`json`]), and `round`, which
//! Fust puts in place of DataFusion's because DataFusion's answer is wrong for floats.
//!
//! `round(x, n)` on floats: DataFusion 55 computes `(x * 10^n).round() / 10^n`, and the
//! product is itself rounded, so `round(2953.35 * 1.1, 2)` (the float holds
//! 3248.68499999999994…) came back 3248.69 where DuckDB, Polars and Python say 3248.68.
//! [`ExactRound`] rounds the value the float really holds: when the rounded product lands
//! exactly on a half, a fused multiply-add gives the product's exact error, which says on
//! which side of the half the true product is. Exact halves still round away from zero
//! (`round(2.5)` is 3, as in PostgreSQL and DuckDB). Integers and decimals are left to
//! DataFusion's function, which is exact for them. Kept here rather than upstream for now:
//! the fix is small and Fust needs it in DataFusion 55.

mod checked;
mod json;

pub use checked::{cast_to, checked};

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Array, Float64Array};
use datafusion::arrow::compute::kernels::arity::binary;
use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, Int32Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::functions::math::round::RoundFunc;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// `round` with [`round_f64`] for floats and DataFusion's own for everything else.
#[derive(Debug, PartialEq, Eq, Hash, Default)]
pub struct ExactRound {
    inner: RoundFunc,
}

/// Registers Fust's functions in a session (replacing DataFusion's `round`).
pub fn register(ctx: &mut SessionContext) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    ctx.register_udf(json::json_encode());
    ctx.register_udf(json::json_decode());
    ctx.register_udf(exact_round());
    Ok(())
}

/// The `round` function a session registers in place of DataFusion's.
pub fn exact_round() -> ScalarUDF {
    ScalarUDF::new_from_impl(ExactRound::default())
}

impl ScalarUDFImpl for ExactRound {
    fn name(&self) -> &str {
        "round"
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn is_strict(&self) -> bool {
        self.inner.is_strict()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let float = matches!(
            args.args.first().map(ColumnarValue::data_type),
            Some(DataType::Float64 | DataType::Float32)
        );
        let places = match args.args.get(1) {
            None => ColumnarValue::Scalar(ScalarValue::Int32(Some(0))),
            Some(p) if matches!(p.data_type(), DataType::Int32) => p.clone(),
            Some(_) => return self.inner.invoke_with_args(args),
        };
        if !float {
            return self.inner.invoke_with_args(args);
        }
        let rows = args.number_rows;
        let scalar = matches!(
            (&args.args[0], &places),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let values = args.args[0].to_array(rows)?;
        let rounded: ArrayRef = match (values.data_type(), &places) {
            (DataType::Float64, ColumnarValue::Scalar(p)) => {
                let a = values.as_primitive::<Float64Type>();
                match p {
                    ScalarValue::Int32(Some(n)) => {
                        Arc::new(a.unary::<_, Float64Type>(|x| round_f64(x, *n)))
                    }
                    _ => Arc::new(Float64Array::new_null(a.len())),
                }
            }
            (DataType::Float32, ColumnarValue::Scalar(p)) => {
                let a = values.as_primitive::<Float32Type>();
                match p {
                    ScalarValue::Int32(Some(n)) => {
                        Arc::new(a.unary::<_, Float32Type>(|x| round_f64(f64::from(x), *n) as f32))
                    }
                    _ => Arc::new(Float32Array::new_null(a.len())),
                }
            }
            (DataType::Float64, ColumnarValue::Array(p)) => {
                Arc::new(binary::<_, _, _, Float64Type>(
                    values.as_primitive::<Float64Type>(),
                    p.as_primitive::<Int32Type>(),
                    round_f64,
                )?)
            }
            (DataType::Float32, ColumnarValue::Array(p)) => {
                Arc::new(binary::<_, _, _, Float32Type>(
                    values.as_primitive::<Float32Type>(),
                    p.as_primitive::<Int32Type>(),
                    |x, n| round_f64(f64::from(x), n) as f32,
                )?)
            }
            _ => return self.inner.invoke_with_args(args),
        };
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&rounded, 0)?),
            false => ColumnarValue::Array(rounded),
        })
    }
}

/// Powers of ten that a double holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `x` rounded to `places` decimal places (negative: to tens, hundreds, …) as the exact
/// value of `x` is, halves away from zero.
pub fn round_f64(x: f64, places: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let Some(&t) = POW10.get(places.unsigned_abs() as usize) else {
        // Beyond 22 places every double is already as exact as it can be written, and
        // rounding to more than 10^22 leaves only zero (or the value, when larger).
        return match places > 0 {
            true => x,
            false => {
                let t = 10f64.powi(-places);
                (x / t).round() * t
            }
        };
    };
    // `y` is the scaled value rounded to a double; only when it lands on a half can
    // that rounding have moved it across the half. `error` is then exact (the error of
    // a product, or the remainder of a quotient, is a double), and its sign says which
    // side the exact value is on.
    let (y, error) = match places >= 0 {
        true => {
            let y = x * t;
            (y, x.mul_add(t, -y))
        }
        false => {
            let y = x / t;
            (y, (-y).mul_add(t, x))
        }
    };
    if !y.is_finite() {
        return x;
    }
    let r = if (y - y.trunc()).abs() == 0.5 && error != 0.0 && (error > 0.0) != (y > 0.0) {
        y.trunc()
    } else {
        y.round()
    };
    match places >= 0 {
        true => r / t,
        false => r * t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn rounds_the_value_the_float_holds() {
        // The product is 3248.68499999999994…: DuckDB, Polars and Python say 3248.68.
        assert_eq!(round_f64(2953.35 * 1.1, 2), 3248.68);
        assert_eq!(round_f64(-(2953.35 * 1.1), 2), -3248.68);
        // 1.005 is 1.00499999999999989…, 2.675 is 2.67499999999999982…
        assert_eq!(round_f64(1.005, 2), 1.0);
        assert_eq!(round_f64(2.675, 2), 2.67);
        // Exact halves go away from zero, as in PostgreSQL and DuckDB.
        assert_eq!(round_f64(2.5, 0), 3.0);
        assert_eq!(round_f64(-2.5, 0), -3.0);
        assert_eq!(round_f64(0.125, 2), 0.13);
        assert_eq!(round_f64(1250.0, -2), 1300.0);
        assert_eq!(round_f64(1249.999, -2), 1200.0);
        assert_eq!(round_f64(7.12449, 3), 7.124);
        assert!(round_f64(f64::NAN, 2).is_nan());
        assert_eq!(round_f64(f64::NEG_INFINITY, 2), f64::NEG_INFINITY);
        assert_eq!(round_f64(f64::MAX, 2), f64::MAX);
        assert_eq!(round_f64(5e-324, 2), 0.0);
        assert_eq!(round_f64(1.5, 40), 1.5);
        assert!((round_f64(1.5e30, -25) / 1.5e30 - 1.0).abs() < 1e-15);
    }

    /// Floats (the REAL 2.675 holds 2.67499995…, so 2.67) and decimals (exact: 2.68).
    #[tokio::test]
    async fn sql_round_uses_it_for_floats_only() -> Result<()> {
        let ctx = SessionContext::new();
        ctx.register_udf(exact_round());
        let batches = ctx
            .sql(
                "SELECT round(2953.35 * 1.1, 2) AS f, round(x, 2) AS col, \
                 round(CAST(2.675 AS REAL), 2) AS r, round(CAST(2.675 AS DECIMAL(5,3)), 2) AS d, \
                 round(7) AS i, round(x, p) AS per_row \
                 FROM (VALUES (2953.35 * 1.1, 2), (NULL, 1), (0.125, NULL)) AS t(x, p)",
            )
            .await?
            .collect()
            .await?;
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3], "| 3248.68 | 3248.68 | 2.67 | 2.68 | 7 | 3248.68 |",
            "{text}"
        );
        assert_eq!(
            lines[4], "| 3248.68 |         | 2.67 | 2.68 | 7 |         |",
            "{text}"
        );
        assert_eq!(
            lines[5], "| 3248.68 | 0.13    | 2.67 | 2.68 | 7 |         |",
            "{text}"
        );
        Ok(())
    }
}
