//! The state of a windowed `aggregate` in a stream job: the aggregate's input rows of the
//! windows still open, the end up to which windows were emitted, and the latest event
//! time seen. It is committed with every epoch (so a `kill -9` neither loses nor doubles a
//! window) and read back on start.

use std::io::Cursor;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::error::{DataFusionError, Result};

use crate::plugin::Window;
use crate::rejects::{BadRecord, StageRejects, row_json};

/// Windows emitted and rows kept, as committed.
#[derive(Debug, Clone)]
pub struct WindowState {
    pub window: Window,
    /// The aggregate's input columns.
    pub schema: SchemaRef,
    /// Rows of windows not emitted yet.
    pub rows: Vec<RecordBatch>,
    /// Every window ending at or before this (ms) has been emitted; `None`: none yet.
    pub emitted: Option<i64>,
    /// The latest event time seen (ms).
    pub latest: Option<i64>,
}

impl WindowState {
    pub fn new(window: Window, schema: SchemaRef) -> Self {
        Self {
            window,
            schema,
            rows: Vec::new(),
            emitted: None,
            latest: None,
        }
    }

    /// The event times of `batch` in milliseconds (NULL: no time).
    fn times(&self, batch: &RecordBatch) -> Result<Vec<Option<i64>>> {
        let column = batch
            .column_by_name(&self.window.time_column)
            .ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "window.time_column: no column `{}` (columns: {})",
                    self.window.time_column,
                    self.schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let ms = cast(column, &DataType::Timestamp(TimeUnit::Millisecond, None))
            .and_then(|a| cast(&a, &DataType::Int64))
            .map_err(|e| {
                DataFusionError::Plan(format!(
                    "window.time_column: `{}` is not a time ({e})",
                    self.window.time_column
                ))
            })?;
        let ms = ms.as_primitive::<Int64Type>();
        Ok((0..ms.len())
            .map(|i| ms.is_valid(i).then(|| ms.value(i)))
            .collect())
    }

    /// Takes an epoch's rows: those whose windows were all emitted already are late
    /// (handed to `rejects` when it tolerates bad records, counted either way); the others
    /// are kept. Returns the number of late rows.
    pub async fn absorb(
        &mut self,
        batches: Vec<RecordBatch>,
        rejects: &StageRejects,
    ) -> Result<u64> {
        let mut late = 0;
        for batch in batches {
            if batch.schema().fields() != self.schema.fields() {
                return Err(DataFusionError::Execution(format!(
                    "the stored window state has other columns than the aggregate's input now ({} vs {}); the job changed: remove the state (the job's row in fust_stream_state, or the output's _fust/ files) to start the windows over",
                    self.schema,
                    batch.schema()
                )));
            }
            let times = self.times(&batch)?;
            let keep: BooleanArray = times
                .iter()
                .map(|t| {
                    Some(match (t, self.emitted) {
                        (None, _) => false,
                        (Some(t), Some(done)) => self.window.last_end(*t) > done,
                        (Some(_), None) => true,
                    })
                })
                .collect();
            for (row, t) in times.iter().enumerate() {
                let Some(t) = t else { continue };
                if keep.value(row) {
                    self.latest = Some(self.latest.map_or(*t, |l| l.max(*t)));
                } else {
                    late += 1;
                    if rejects.tolerates() {
                        rejects
                            .reject(BadRecord {
                                raw: row_json(&batch, row),
                                reason: format!(
                                    "its windows were emitted already (watermark past {} ms)",
                                    self.window.last_end(*t)
                                ),
                                kind: "late record".into(),
                                position: format!("{} = {t} ms", self.window.time_column),
                            })
                            .await?;
                    }
                }
            }
            let kept = filter_record_batch(&batch, &keep)?;
            if kept.num_rows() > 0 {
                self.rows.push(kept);
            }
        }
        Ok(late)
    }

    /// The end up to which windows can be emitted now: the latest multiple of `slide` at
    /// or before the watermark (latest event time − allowed lateness).
    pub fn closable(&self) -> Option<i64> {
        let watermark = self.latest? - self.window.lateness_ms;
        let end = watermark - watermark.rem_euclid(self.window.slide_ms);
        match self.emitted {
            Some(done) if end <= done => None,
            _ => Some(end),
        }
    }

    /// The state once the windows up to `end` are emitted: their rows that are in no open
    /// window any more are dropped.
    pub fn after_emitting(&self, end: i64) -> Result<WindowState> {
        let mut rows = Vec::with_capacity(self.rows.len());
        for batch in &self.rows {
            let times = self.times(batch)?;
            let keep: BooleanArray = times
                .iter()
                .map(|t| Some(t.is_some_and(|t| self.window.last_end(t) > end)))
                .collect();
            let kept = filter_record_batch(batch, &keep)?;
            if kept.num_rows() > 0 {
                rows.push(kept);
            }
        }
        Ok(WindowState {
            rows,
            emitted: Some(end),
            ..self.clone()
        })
    }

    /// The state as bytes: emitted and latest (i64 LE, `i64::MIN` for none), then the
    /// rows as an Arrow IPC stream.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.emitted.unwrap_or(i64::MIN).to_le_bytes());
        out.extend_from_slice(&self.latest.unwrap_or(i64::MIN).to_le_bytes());
        let mut writer = StreamWriter::try_new(&mut out, &self.schema)?;
        for batch in &self.rows {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        Ok(out)
    }

    /// Reads back [`encode`](Self::encode)'s bytes.
    pub fn decode(window: Window, bytes: &[u8]) -> Result<WindowState> {
        let bad = || {
            DataFusionError::Execution(
                "the stored window state is not readable; remove it (the job's row in fust_stream_state, or the output's _fust/ files) to start the windows over".into(),
            )
        };
        let (head, ipc) = (bytes.get(..16).ok_or_else(bad)?, &bytes[16..]);
        let number = |b: &[u8]| -> Option<i64> {
            let v = i64::from_le_bytes(b.try_into().ok()?);
            (v != i64::MIN).then_some(v)
        };
        let reader = StreamReader::try_new(Cursor::new(ipc), None).map_err(|_| bad())?;
        let schema = reader.schema();
        let rows = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(WindowState {
            window,
            schema,
            rows,
            emitted: number(&head[..8]),
            latest: number(&head[8..16]),
        })
    }
}
