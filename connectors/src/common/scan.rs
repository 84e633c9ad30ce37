//! The one execution plan every Fust source runs under. A source describes its read as a
//! [`PartitionedRead`] — how many partitions, how it looks in `fust explain`, how to open
//! one partition as a stream of batches — and [`SourceExec`] does the rest: plan
//! properties, the partition check and the `output_rows` metric.
//!
//! DataFusion's `StreamingTable` + `PartitionStream` would do the same, but its plan node
//! prints only the partition count and keeps no per-partition metrics; `fust explain`
//! shows the SQL each database partition sends and the byte ranges each CSV partition
//! reads, and `fust run -v` reports rows per scan, so Fust keeps this node instead.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::StreamExt;

/// What a source tells [`SourceExec`] about its read.
pub trait PartitionedRead: fmt::Debug + Send + Sync + 'static {
    /// The plan node's name (`CsvScanExec`, `DbScanExec`).
    fn name(&self) -> &'static str;

    /// How many partitions the read runs as, each opened once.
    fn partitions(&self) -> usize;

    /// What `fust explain` prints after `NAME: `.
    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result;

    /// Opens partition `partition` (below [`Self::partitions`]) as batches of the scan's
    /// schema. `metrics` takes the source's own counters.
    fn open(
        &self,
        partition: usize,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<SendableRecordBatchStream>;
}

/// A leaf plan node that runs a [`PartitionedRead`].
#[derive(Debug)]
pub struct SourceExec {
    read: Arc<dyn PartitionedRead>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl SourceExec {
    /// A bounded scan producing batches of `schema`.
    pub fn new(read: impl PartitionedRead, schema: SchemaRef) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(read.partitions()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            read: Arc::new(read),
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for SourceExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: ", self.read.name())?;
        self.read.describe(f)
    }
}

impl ExecutionPlan for SourceExec {
    fn name(&self) -> &str {
        self.read.name()
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition >= self.read.partitions() {
            return Err(DataFusionError::Internal(format!(
                "{} has no partition {partition}",
                self.read.name()
            )));
        }
        let counted = MetricBuilder::new(&self.metrics).output_rows(partition);
        let stream = self.read.open(partition, &self.metrics)?;
        let stream = stream.map(move |b| {
            if let Ok(b) = &b {
                counted.add(b.num_rows());
            }
            b
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}
