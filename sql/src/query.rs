//! Planning user SQL safely: exactly one query, over the job's own tables only.

use datafusion::common::{plan_datafusion_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::GenericDialect;

/// Plans `sql` as a query over the tables registered in `ctx` (the job's inputs and
/// `input`). Rejects statement lists, DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`, `EXPLAIN`,
/// and file paths or URLs used as tables.
pub async fn plan_query(ctx: &SessionContext, sql: &str) -> Result<LogicalPlan> {
    let statement = parse_query(sql)?;
    let state = ctx.state();
    let known: Vec<String> = ctx
        .catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default();
    for table in state.resolve_table_references(&statement)? {
        let name = table.table();
        let qualified = table.schema().is_some() || table.catalog().is_some();
        if name.contains('/') || name.contains("://") || name.contains('.') || qualified {
            return plan_err!(
                "`{table}` looks like a file path or a qualified name; processors can only read the job's inputs ({}). Declare the file under `inputs:`",
                known.join(", ")
            );
        }
        if !known.iter().any(|k| k == name) {
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let hint = fust_config::did_you_mean(name, refs.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return plan_err!(
                "table `{name}` is not an input of this job; {hint}tables: {}",
                known.join(", ")
            );
        }
    }
    state.statement_to_plan(statement).await
}

/// Parses `sql` and checks, without any I/O, that it is exactly one query.
pub fn parse_query(sql: &str) -> Result<Statement> {
    fust_engine::sql_text::check(sql)?;
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
        .map_err(|e| plan_datafusion_err!("the SQL does not parse: {e}"))?;
    if statements.len() != 1 {
        return plan_err!(
            "expected exactly one query, found {} statements (separated by `;`); a processor runs one SELECT",
            statements.len()
        );
    }
    let Some(statement) = statements.pop_front() else {
        return plan_err!("the query is empty; expected a SELECT");
    };
    match &statement {
        Statement::Statement(s) if matches!(s.as_ref(), ast::Statement::Query(_)) => {}
        Statement::Statement(s) => {
            let kind = s.to_string();
            let word: String = kind
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return plan_err!(
                "only queries (SELECT, WITH … SELECT, VALUES) are allowed in a processor; found `{word} …`"
            );
        }
        Statement::CreateExternalTable(_) => {
            return plan_err!(
                "CREATE EXTERNAL TABLE is not allowed in a processor; declare the file as a named input under `inputs:`"
            );
        }
        Statement::CopyTo(_) => {
            return plan_err!(
                "COPY is not allowed in a processor; the job's `output` says where data goes"
            );
        }
        Statement::Explain(_) => {
            return plan_err!("EXPLAIN is not allowed in a processor; use `fust explain JOB.yaml`");
        }
        Statement::Reset(_) => {
            return plan_err!("RESET is not allowed in a processor; expected a SELECT");
        }
    }
    Ok(statement)
}
