//! [`Dialect`]: how one database spells SQL. Everything that differs between the
//! database connectors' SQL goes through it, so a new database is its folder and one
//! `impl Dialect`.

use std::fmt::Debug;

use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::Dialect as UnparserDialect;

use super::config::{DbSinkConfig, DbWriteMode};
use crate::common::{ConnectorError, ConnectorResult};

/// A database's SQL spelling: quoting, literals, type mapping and the SQL that a pushed-down
/// filter becomes. Implementations are unit structs used as `&'static dyn Dialect`.
pub trait Dialect: Debug + Send + Sync {
    /// The connector's `type:` name, also used in messages and state keys.
    fn name(&self) -> &'static str;

    /// The product, for messages: `PostgreSQL`.
    fn product(&self) -> &'static str;

    /// Quotes one identifier.
    fn ident(&self, name: &str) -> String;

    /// A string literal. Values are always escaped here or bound, never pasted.
    fn string(&self, s: &str) -> String;

    /// DataFusion's unparser dialect, which turns pushed-down filters into this SQL.
    fn unparser(&self) -> &dyn UnparserDialect;

    /// The column type for `field` in a `CREATE TABLE`; `key` when it is part of the
    /// primary key. Err: [`ConnectorError::Unsupported`] naming the Arrow type, which has no
    /// mapping.
    fn column_type(&self, field: &Field, key: bool) -> ConnectorResult<String>;

    /// Text after `CREATE TABLE t (...)`, e.g. a storage engine.
    fn table_options(&self) -> &'static str {
        ""
    }

    /// A condition true for the finite values of float column `column` (quoted), when the
    /// database stores NaN or infinities; `None` when it does not.
    fn finite(&self, _column: &str) -> Option<String> {
        None
    }

    /// The column type of a large binary value (a stream job's stored state).
    fn blob_type(&self) -> &'static str;

    /// `INSERT INTO {rest}` that inserts nothing (and is no error) when the row's key is
    /// already there.
    fn insert_if_absent(&self, rest: &str) -> String;

    /// Quotes a possibly schema-qualified table name (`sales.orders`).
    fn table(&self, name: &str) -> String {
        name.split('.')
            .map(|p| self.ident(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A filter or expression as this database's SQL. Text literals are written by
    /// [`Dialect::string`], not by the unparser: the unparser leaves a quote after a
    /// backslash unescaped (`x\'y` would end the string early) and does not know that
    /// MySQL reads `\` as an escape.
    fn unparse(&self, expr: &Expr) -> Result<String> {
        let mut texts: Vec<String> = Vec::new();
        expr.apply(|e| {
            if let Expr::Literal(v, _) = e
                && let Some(s) = text_of(v)
            {
                texts.push(s.to_string());
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if texts.is_empty() {
            return Ok(Unparser::new(self.unparser())
                .expr_to_sql(expr)?
                .to_string());
        }
        // A placeholder no text contains, so the final replacement is exact.
        let mut tag = String::from("fust_text_");
        while texts.iter().any(|t| t.contains(&tag)) {
            tag.push('x');
        }
        let mut replaced: Vec<String> = Vec::new();
        let expr = expr
            .clone()
            .transform(|e| {
                Ok(match e {
                    Expr::Literal(v, meta) if text_of(&v).is_some() => {
                        let placeholder = format!("{tag}{}", replaced.len());
                        replaced.push(text_of(&v).unwrap_or_default().to_string());
                        let v = match v {
                            ScalarValue::LargeUtf8(_) => ScalarValue::LargeUtf8(Some(placeholder)),
                            ScalarValue::Utf8View(_) => ScalarValue::Utf8View(Some(placeholder)),
                            _ => ScalarValue::Utf8(Some(placeholder)),
                        };
                        Transformed::yes(Expr::Literal(v, meta))
                    }
                    other => Transformed::no(other),
                })
            })?
            .data;
        let mut sql = Unparser::new(self.unparser())
            .expr_to_sql(&expr)?
            .to_string();
        for (i, text) in replaced.iter().enumerate() {
            sql = sql.replace(&format!("'{tag}{i}'"), &self.string(text));
        }
        Ok(sql)
    }
}

/// The value of a non-NULL text literal.
fn text_of(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

/// `CREATE TABLE` for a sink's schema, with a primary key on `key_columns` for upsert.
/// Err: [`ConnectorError::Unsupported`] for a column whose type has no mapping.
pub fn create_table_sql(
    dialect: &dyn Dialect,
    table: &str,
    schema: &SchemaRef,
    c: &DbSinkConfig,
) -> ConnectorResult<String> {
    let upsert = c.write_mode == DbWriteMode::Upsert;
    let mut cols = Vec::with_capacity(schema.fields().len() + 1);
    for f in schema.fields() {
        let key = upsert && c.key_columns.iter().any(|k| k == f.name());
        let t = dialect.column_type(f, key).map_err(|t| {
            ConnectorError::Unsupported(format!(
                "column `{}` has type {t}, which has no {} type; cast it in a processor",
                f.name(),
                dialect.product()
            ))
        })?;
        let not_null = if key { " NOT NULL" } else { "" };
        cols.push(format!("{} {t}{not_null}", dialect.ident(f.name())));
    }
    if upsert {
        let keys: Vec<String> = c.key_columns.iter().map(|k| dialect.ident(k)).collect();
        cols.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE {table} ({}){}",
        cols.join(", "),
        dialect.table_options()
    ))
}
