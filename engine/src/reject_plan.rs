//! Bad records found inside the plan: a processor that converts values (a `cast`, a
//! `json_decode`, a `date_parse`) computes, beside each converted value, the reason it
//! failed (NULL when it did not), and puts a [`RejectRows`] node after it. The node takes
//! the rows with a reason out of the stream and reports them through the processor's
//! [`StageRejects`]; the others go on without the reason column. It is planned by
//! [`RejectPlanner`], which every session made by [`crate::session::session`] has.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch, is_null};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, DFSchemaRef, DataFusionError, plan_err};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, Extension, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::EmissionType;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;

use crate::rejects::{BadRecord, RejectsExtension, StageRejects};

/// The logical node: `input` without its last column, `reason`, whose non-NULL rows are
/// bad records of `stage`, found at `position` (e.g. `transform step 2, date_parse of
/// `created``).
#[derive(Debug, Clone)]
pub struct RejectRows {
    input: LogicalPlan,
    stage: String,
    position: String,
    kind: String,
    schema: DFSchemaRef,
}

impl RejectRows {
    /// `input`'s last column must be the reason (text, NULL for a good row).
    pub fn plan(
        input: LogicalPlan,
        stage: &str,
        position: &str,
        kind: &str,
    ) -> Result<LogicalPlan> {
        let fields = input.schema().fields().len();
        if fields < 2 {
            return plan_err!("a reject node needs the data and a reason column");
        }
        let qualified: Vec<_> = input
            .schema()
            .iter()
            .take(fields - 1)
            .map(|(q, f)| (q.cloned(), f.clone()))
            .collect();
        let schema = DFSchema::new_with_metadata(qualified, input.schema().metadata().clone())?;
        Ok(LogicalPlan::Extension(Extension {
            node: Arc::new(RejectRows {
                input,
                stage: stage.to_string(),
                position: position.to_string(),
                kind: kind.to_string(),
                schema: Arc::new(schema),
            }),
        }))
    }

    fn key(&self) -> (&LogicalPlan, &str, &str, &str) {
        (&self.input, &self.stage, &self.position, &self.kind)
    }
}

impl PartialEq for RejectRows {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for RejectRows {}

impl PartialOrd for RejectRows {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.key().partial_cmp(&other.key())
    }
}

impl Hash for RejectRows {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl UserDefinedLogicalNodeCore for RejectRows {
    fn name(&self) -> &str {
        "RejectRows"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RejectRows: {} at {}", self.stage, self.position)
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let input = inputs
            .pop()
            .ok_or_else(|| DataFusionError::Internal("RejectRows has one input".into()))?;
        Ok(RejectRows {
            input,
            ..self.clone()
        })
    }
}

/// Plans [`RejectRows`] as [`RejectExec`], with the run's bad-record policy.
#[derive(Debug)]
pub struct RejectPlanner;

#[async_trait]
impl ExtensionPlanner for RejectPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<RejectRows>() else {
            return Ok(None);
        };
        let [input] = physical_inputs else {
            return plan_err!("RejectRows has one input");
        };
        let rejects = match session.config().get_extension::<RejectsExtension>() {
            Some(run) => StageRejects::new(&node.stage, run.0.clone()),
            None => StageRejects::default(),
        };
        Ok(Some(Arc::new(RejectExec::new(
            input.clone(),
            rejects,
            node.position.clone(),
            node.kind.clone(),
        ))))
    }
}

/// The query planner of Fust's sessions: DataFusion's, with [`RejectPlanner`].
#[derive(Debug)]
pub struct FustQueryPlanner;

#[async_trait]
impl datafusion::execution::context::QueryPlanner for FustQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(RejectPlanner)])
            .create_physical_plan(logical_plan, session)
            .await
    }
}

/// Takes the rows whose last column is not NULL out of each batch and reports them.
#[derive(Debug)]
pub struct RejectExec {
    input: Arc<dyn ExecutionPlan>,
    rejects: StageRejects,
    position: String,
    kind: String,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl RejectExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        rejects: StageRejects,
        position: String,
        kind: String,
    ) -> Self {
        let in_schema = input.schema();
        let keep: Vec<usize> = (0..in_schema.fields().len().saturating_sub(1)).collect();
        let schema = Arc::new(
            in_schema
                .project(&keep)
                .unwrap_or_else(|_| (*in_schema).clone()),
        );
        // The reason is the last column, so the others keep their positions.
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            EmissionType::Incremental,
            input.boundedness(),
        );
        RejectExec {
            input,
            rejects,
            position,
            kind,
            schema,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for RejectExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "RejectExec: {} at {}",
            self.rejects.stage(),
            self.position
        )
    }
}

impl ExecutionPlan for RejectExec {
    fn name(&self) -> &str {
        "RejectExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .pop()
            .ok_or_else(|| DataFusionError::Internal("RejectExec has one input".into()))?;
        Ok(Arc::new(RejectExec::new(
            input,
            self.rejects.clone(),
            self.position.clone(),
            self.kind.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let checker = Arc::new(Checker {
            rejects: self.rejects.clone(),
            position: self.position.clone(),
            kind: self.kind.clone(),
            schema: self.schema.clone(),
        });
        let batches = input.then(move |batch| {
            let checker = checker.clone();
            async move { checker.check(batch?).await }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            batches,
        )))
    }
}

struct Checker {
    rejects: StageRejects,
    position: String,
    kind: String,
    schema: SchemaRef,
}

impl Checker {
    /// The batch's good rows without the reason column; the bad ones reported.
    async fn check(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let last = batch.num_columns() - 1;
        let data = batch.project(&(0..last).collect::<Vec<_>>())?;
        let reasons = batch.column(last);
        if reasons.null_count() == reasons.len() {
            return Ok(data.with_schema(self.schema.clone())?);
        }
        let reasons = cast(reasons, &DataType::Utf8)?;
        let reasons = reasons.as_string::<i32>();
        for (row, reason) in reasons.iter().enumerate() {
            if let Some(reason) = reason {
                self.rejects
                    .reject(BadRecord {
                        raw: crate::rejects::row_json(&data, row),
                        reason: reason.to_string(),
                        kind: self.kind.clone(),
                        position: self.position.clone(),
                    })
                    .await?;
            }
        }
        let good = is_null(reasons)?;
        Ok(filter_record_batch(&data, &good)?.with_schema(self.schema.clone())?)
    }
}
