//! MySQL's and MariaDB's SQL spelling: the [`Dialect`] of the `mysql` connector.

use datafusion::arrow::datatypes::Field;
use datafusion::sql::unparser::dialect::{Dialect as UnparserDialect, MySqlDialect};

use super::types::ddl_type;
use crate::common::ConnectorResult;
use crate::common::database::Dialect;

/// MySQL/MariaDB: backquoted identifiers; backslashes in literals are escaped (the session
/// does not set `NO_BACKSLASH_ESCAPES`).
#[derive(Debug, Clone, Copy)]
pub struct MySql;

impl Dialect for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn product(&self) -> &'static str {
        "MySQL"
    }

    fn ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn string(&self, s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    }

    fn blob_type(&self) -> &'static str {
        "LONGBLOB"
    }

    fn insert_if_absent(&self, rest: &str) -> String {
        format!("INSERT IGNORE INTO {rest}")
    }

    fn unparser(&self) -> &dyn UnparserDialect {
        &MySqlDialect {}
    }

    fn column_type(&self, field: &Field, key: bool) -> ConnectorResult<String> {
        ddl_type(field, key)
    }

    fn table_options(&self) -> &'static str {
        " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"
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
        assert_eq!(MySql.ident("a`b"), "`a``b`");
        assert_eq!(MySql.table("db.t"), "`db`.`t`");
        assert_eq!(MySql.string("o'k\\"), r"'o''k\\'");
        let e = unqualify(col("t.id").gt_eq(lit(5i64)).and(col("name").eq(lit("o'k")))).unwrap();
        assert_eq!(
            MySql.unparse(&e).unwrap(),
            "((`id` >= 5) AND (`name` = 'o''k'))"
        );
    }
}
