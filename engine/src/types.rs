//! SQL type names (as users write them in job files) to Arrow types, through DataFusion's
//! own SQL planner so the names mean the same as in a `CAST`.

use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{DFSchema, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

/// Parses a SQL type such as `bigint`, `double`, `decimal(12,2)`, `date`, `timestamp`,
/// `varchar` into an Arrow type.
pub fn sql_type(ty: &str) -> Result<DataType> {
    if ty.contains([';', '(']) && !ty.trim_end().ends_with(')') || ty.contains(';') {
        return plan_err!("`{ty}` is not a SQL type");
    }
    crate::sql_text::check(ty)?;
    let ctx = SessionContext::new();
    match ctx.parse_sql_expr(&format!("CAST(NULL AS {ty})"), &DFSchema::empty()) {
        Ok(Expr::Cast(c)) => Ok(c.field.data_type().clone()),
        _ => plan_err!(
            "`{ty}` is not a SQL type; expected e.g. bigint, int, double, boolean, date, timestamp, decimal(12,2), varchar"
        ),
    }
}

/// `{field: SQL type | {nested…}}` (a job file's `schema:`) as a struct type.
pub fn struct_type(fields: &serde_json::Map<String, serde_json::Value>) -> Result<DataType> {
    let fields = fields
        .iter()
        .map(|(name, ty)| {
            let data_type = match ty {
                serde_json::Value::String(t) => sql_type(t)?,
                serde_json::Value::Object(nested) => struct_type(nested)?,
                other => {
                    return plan_err!(
                        "schema.{name}: give a SQL type (e.g. bigint) or a map of fields, not {other}"
                    );
                }
            };
            Ok(Field::new(name, data_type, true))
        })
        .collect::<Result<Fields>>()?;
    Ok(DataType::Struct(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names() {
        assert_eq!(sql_type("bigint").ok(), Some(DataType::Int64));
        assert_eq!(sql_type("DOUBLE").ok(), Some(DataType::Float64));
        assert_eq!(
            sql_type("decimal(12,2)").ok(),
            Some(DataType::Decimal128(12, 2))
        );
        assert_eq!(sql_type("date").ok(), Some(DataType::Date32));
        assert!(sql_type("potato").is_err());
        assert!(sql_type("int); DROP TABLE x; --").is_err());
    }
}
