//! Criterion micro-benchmarks: job-file parsing and validation, and the processors'
//! plans executed over in-memory batches (no file I/O), in rows per second.

use std::sync::Arc;

use async_trait::async_trait;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_config::JobSpec;
use fust_engine::{
    CancellationToken, CompiledJob, Pending, Published, Registry, RunStats, Sink, SinkSummary,
    Source,
};
use futures::StreamExt;

#[derive(Debug)]
struct MemSource(Arc<MemTable>);

#[async_trait]
impl Source for MemSource {
    async fn table(
        &self,
        _ctx: &SessionContext,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        Ok(self.0.clone())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

#[derive(Debug)]
struct CountSink;

#[async_trait]
impl Sink for CountSink {
    async fn prepare(
        &self,
        mut stream: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> datafusion::error::Result<Box<dyn Pending>> {
        let mut rows = 0;
        while let Some(b) = stream.next().await {
            rows += b?.num_rows() as u64;
        }
        Ok(Box::new(Published(SinkSummary {
            rows,
            bytes: 0,
            target: "count".into(),
        })))
    }
}

fn table(rows: usize) -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
    ]));
    let batches: Vec<RecordBatch> = (0..rows / 8192)
        .map(|b| {
            let ids: Vec<i64> = (0..8192).map(|i| (b * 8192 + i) as i64).collect();
            let amounts: Vec<f64> = ids.iter().map(|i| (i % 1000) as f64 * 0.5).collect();
            let status: Vec<&str> = ids
                .iter()
                .map(|i| if i % 3 == 0 { "paid" } else { "open" })
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(Float64Array::from(amounts)),
                    Arc::new(StringArray::from(status)),
                ],
            )
            .expect("batch")
        })
        .collect();
    let n = batches.len();
    let parts = vec![batches[..n / 2].to_vec(), batches[n / 2..].to_vec()];
    Arc::new(MemTable::try_new(schema, parts).expect("table"))
}

const JOB: &str = r#"
input: {type: csv, path: unused.csv}
pipeline:
  processors:
    - {type: filter, condition: "amount > 100 AND status = 'paid'"}
    - {type: mapping, field_mappings: {id: order_id}, fields: {cents: "CAST(amount * 100 AS BIGINT)"}}
    - {type: aggregate, group_by: [status], aggregates: {total: "sum(cents)", n: "count(*)"}}
output: {type: console}
"#;

fn registry() -> Registry {
    let mut r = Registry::new();
    fust_connectors::register_all(&mut r);
    fust_sql::register_all(&mut r);
    r
}

fn bench(c: &mut Criterion) {
    let registry = registry();
    let mut g = c.benchmark_group("job_file");
    g.throughput(Throughput::Bytes(JOB.len() as u64));
    g.bench_function("parse_and_compile", |b| {
        b.iter(|| {
            let spec = JobSpec::from_str(JOB, "bench.yaml").expect("parses");
            registry.compile(&spec).expect("compiles")
        })
    });
    g.finish();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("processors");
    for rows in [1 << 18, 1 << 20] {
        let mem = table(rows);
        let spec = JobSpec::from_str(JOB, "bench.yaml").expect("parses");
        let compiled = registry.compile(&spec).expect("compiles");
        let job = CompiledJob {
            inputs: vec![("input".into(), Arc::new(MemSource(mem)) as Arc<dyn Source>)],
            sinks: vec![("output".into(), Arc::new(CountSink) as Arc<dyn Sink>)],
            ..compiled
        };
        g.throughput(Throughput::Elements(rows as u64));
        g.bench_with_input(
            BenchmarkId::new("filter_mapping_aggregate", rows),
            &job,
            |b, job| {
                b.iter(|| {
                    rt.block_on(job.run(RunStats::new(), CancellationToken::new()))
                        .expect("runs")
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
