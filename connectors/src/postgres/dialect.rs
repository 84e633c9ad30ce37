//! PostgreSQL's SQL spelling: the [`Dialect`] of the `postgres` connector.

use datafusion::arrow::datatypes::Field;
use datafusion::sql::unparser::dialect::{Dialect as UnparserDialect, PostgreSqlDialect};

use super::types::PgType;
use crate::common::ConnectorResult;
use crate::common::database::Dialect;

/// PostgreSQL: double-quoted identifiers, standard string literals.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn product(&self) -> &'static str {
        "PostgreSQL"
    }

    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn string(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    fn blob_type(&self) -> &'static str {
        "BYTEA"
    }

    fn insert_if_absent(&self, rest: &str) -> String {
        format!("INSERT INTO {rest} ON CONFLICT DO NOTHING")
    }

    fn finite(&self, column: &str) -> Option<String> {
        Some(format!("{column} NOT IN ('NaN', 'Infinity', '-Infinity')"))
    }

    fn unparser(&self) -> &dyn UnparserDialect {
        &PostgreSqlDialect {}
    }

    fn column_type(&self, field: &Field, _key: bool) -> ConnectorResult<String> {
        PgType::for_arrow(field)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use datafusion::prelude::{col, lit};

    use super::*;
    use crate::common::database::scan::unqualify;

    #[test]
    fn quoting_and_filters() {
        assert_eq!(Postgres.ident("a\"b"), r#""a""b""#);
        assert_eq!(Postgres.table("sales.orders"), r#""sales"."orders""#);
        assert_eq!(Postgres.string("o'k\\"), r"'o''k\'");
        let e = unqualify(col("t.id").gt_eq(lit(5i64)).and(col("name").eq(lit("o'k")))).unwrap();
        assert_eq!(
            Postgres.unparse(&e).unwrap(),
            r#"(("id" >= 5) AND ("name" = 'o''k'))"#
        );
    }
}
