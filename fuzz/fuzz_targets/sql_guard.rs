//! The guarded SQL planner every processor uses (`fust_sql::plan_query`): any text either
//! is refused or plans as one query that reads only the job's own tables.
#![no_main]

use std::sync::Arc;
use std::sync::LazyLock;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use libfuzzer_sys::fuzz_target;

/// The job's tables: `input` and `orders`, each with a column of the common types.
const TABLES: [&str; 2] = ["input", "orders"];

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
});

/// A run's session, as the engine configures it, with the job's tables.
static CTX: LazyLock<SessionContext> = LazyLock::new(|| {
    let ctx =
        fust_engine::session::session(&fust_config::Settings::default(), None).expect("a session");
    let schema = fust_connectors::fuzzing::sample_schema();
    for name in TABLES {
        let table = MemTable::try_new(schema.clone(), vec![vec![]]).expect("an empty table");
        ctx.register_table(name, Arc::new(table))
            .expect("a new table name");
    }
    ctx
});

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(plan) = RT.block_on(fust_sql::plan_query(&CTX, sql)) else {
        return;
    };
    // What the guard let through is a query over the job's tables, nothing else.
    plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => assert!(
                scan.table_name.schema().is_none() && TABLES.contains(&scan.table_name.table()),
                "`{sql}` reads {}",
                scan.table_name
            ),
            LogicalPlan::Ddl(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_) => panic!("`{sql}` planned as {}", node.display()),
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .expect("the walk itself cannot fail");
});
