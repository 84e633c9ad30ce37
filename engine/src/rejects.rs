//! Bad records: records a source cannot parse, a processor cannot convert, or an output
//! rejects alone. `settings.on_error` says what happens to them (fail the run, skip them,
//! or write them to the `dead_letter:` output) and `settings.max_errors` how many a run
//! may have and still publish.
//!
//! A run has one [`Rejects`] in its session; each input and output gets a
//! [`StageRejects`] that knows its own name (`input`, `outputs.eu`) in the session it is
//! handed ([`StageRejects::of`]). Plugins call [`StageRejects::reject`] and propagate its
//! error: under `fail`, and past `max_errors`, the error is what fails the run.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use fust_config::{MaxErrors, OnError, Settings};
use tokio::sync::mpsc;

/// One bad record, as a plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// The record as text (the CSV line, the JSON document, the row as JSON).
    pub raw: String,
    /// Why, in the parser's or the server's own words.
    pub reason: String,
    /// A short class of the reason the run counts by: `wrong field count`,
    /// `invalid JSON`, `mapper_parsing_exception`, a SQLSTATE.
    pub kind: String,
    /// Where: `FILE:LINE`, `URL page N record M`, `partition:offset`, `row N`.
    pub position: String,
}

/// The most characters of `raw` a dead-letter row keeps (a bad record can be a whole
/// malformed file).
pub const MAX_RAW_CHARS: usize = 64 << 10;

/// Bad records a run had, by stage and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectCounts {
    /// `(stage, kind) → records`, in name order.
    pub by_kind: BTreeMap<(String, String), u64>,
}

impl RejectCounts {
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
}

impl fmt::Display for RejectCounts {
    /// `3 (input: wrong field count 2, output: mapper_parsing_exception 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.total())?;
        if !self.by_kind.is_empty() {
            let parts: Vec<String> = self
                .by_kind
                .iter()
                .map(|((stage, kind), n)| format!("{stage}: {kind} {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// The bad-record policy and counts of one run (a session extension).
#[derive(Debug)]
pub struct Rejects {
    on_error: OnError,
    max_errors: Option<MaxErrors>,
    total: AtomicU64,
    /// Bad records the inputs reported: they count as records read for `max_errors: P%`.
    at_inputs: AtomicU64,
    counts: Mutex<RejectCounts>,
    dead_letter: Mutex<Option<mpsc::Sender<(String, BadRecord)>>>,
}

/// Bad records waiting for the dead-letter output.
const DEAD_LETTER_QUEUE: usize = 1024;

impl Rejects {
    pub fn new(settings: &Settings) -> Arc<Self> {
        Arc::new(Rejects {
            on_error: settings.on_error,
            max_errors: settings.max_errors,
            total: AtomicU64::new(0),
            at_inputs: AtomicU64::new(0),
            counts: Mutex::default(),
            dead_letter: Mutex::new(None),
        })
    }

    /// The run's rejects in `ctx` (a session made by [`crate::session::session`]).
    pub fn of(ctx: &SessionContext) -> Option<Arc<Rejects>> {
        ctx.state()
            .config()
            .get_extension::<RejectsExtension>()
            .map(|r| r.0.clone())
    }

    /// The stream of the dead-letter output: one row per bad record sent to it, ending
    /// at [`close`](Self::close). Without it, `on_error: dead_letter` counts and drops
    /// (as `preview` and `validate` do).
    pub fn open_dead_letter(&self) -> SendableRecordBatchStream {
        let (tx, rx) = mpsc::channel(DEAD_LETTER_QUEUE);
        if let Ok(mut d) = self.dead_letter.lock() {
            *d = Some(tx);
        }
        dead_letter_stream(rx)
    }

    /// Ends the dead-letter stream: called once nothing can report a bad record any more.
    pub fn close(&self) {
        if let Ok(mut d) = self.dead_letter.lock() {
            d.take();
        }
    }

    /// The bad records so far.
    pub fn counts(&self) -> RejectCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// After the inputs are read: fails when the bad records are more than
    /// `max_errors: P%` of the records read (`rows_read` good ones plus the inputs' bad).
    pub fn check_percentage(&self, rows_read: u64) -> Result<()> {
        let Some(MaxErrors::Percent(p)) = self.max_errors else {
            return Ok(());
        };
        let total = self.total.load(Ordering::Relaxed);
        let read = rows_read + self.at_inputs.load(Ordering::Relaxed);
        if total as f64 > read as f64 * p / 100.0 {
            return Err(DataFusionError::Execution(format!(
                "{total} bad records of {read} read is more than max_errors ({p}%): {}; nothing was published",
                self.counts()
            )));
        }
        Ok(())
    }

    async fn reject(&self, stage: &str, mut record: BadRecord) -> Result<()> {
        if self.on_error == OnError::Fail {
            // Inputs and outputs are named by the run's error context; processors' errors
            // come out of the running plan, so they name themselves.
            let processor = stage.starts_with("pipeline.");
            let stage = match processor {
                true => format!("{stage}: "),
                false => String::new(),
            };
            let mut raw: String = record.raw.chars().take(200).collect();
            if raw.len() < record.raw.len() {
                raw.push('…');
            }
            let message = format!(
                "{stage}bad record at {}: {}; the record: {raw} (settings.on_error: skip or dead_letter lets a run go on past bad records)",
                record.position, record.reason
            );
            return Err(match processor {
                true => DataFusionError::External(Box::new(ProcessorBadRecord(message))),
                false => DataFusionError::Execution(message),
            });
        }
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        if stage == "input" || stage.starts_with("inputs.") {
            self.at_inputs.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut c) = self.counts.lock() {
            *c.by_kind
                .entry((stage.to_string(), record.kind.clone()))
                .or_default() += 1;
        }
        if let Some(MaxErrors::Count(max)) = self.max_errors
            && total > max
        {
            return Err(DataFusionError::Execution(format!(
                "more than max_errors ({max}) bad records: {}; the last at {}: {}; nothing was published",
                self.counts(),
                record.position,
                record.reason
            )));
        }
        if self.on_error == OnError::DeadLetter {
            let tx = self.dead_letter.lock().ok().and_then(|d| d.clone());
            if let Some(tx) = tx {
                if record.raw.len() > MAX_RAW_CHARS {
                    let cut = (0..=MAX_RAW_CHARS)
                        .rev()
                        .find(|i| record.raw.is_char_boundary(*i))
                        .unwrap_or(0);
                    record.raw.truncate(cut);
                }
                if tx.send((stage.to_string(), record)).await.is_err() {
                    return Err(DataFusionError::Execution(
                        "the dead_letter output stopped (see its error)".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The error a processor's bad record fails the run with (it names the processor, so
/// the run's error context need not).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessorBadRecord(pub String);

/// The session extension holding the run's [`Rejects`].
#[derive(Debug, Clone)]
pub struct RejectsExtension(pub Arc<Rejects>);

/// One stage's door to the run's [`Rejects`]: what inputs and outputs call.
#[derive(Debug, Clone)]
pub struct StageRejects {
    stage: String,
    run: Arc<Rejects>,
}

/// A door that fails at the first bad record (`on_error: fail`), for sessions made
/// without [`for_stage`].
impl Default for StageRejects {
    fn default() -> Self {
        StageRejects {
            stage: String::new(),
            run: Rejects::new(&Settings::default()),
        }
    }
}

impl StageRejects {
    /// The door of `stage` to the run's `run`.
    pub fn new(stage: &str, run: Arc<Rejects>) -> StageRejects {
        StageRejects {
            stage: stage.to_string(),
            run,
        }
    }

    /// The door of the stage `ctx` was made for (see [`for_stage`]); in a session without
    /// one, the [default](Self::default).
    pub fn of(ctx: &SessionContext) -> StageRejects {
        Self::of_session(&ctx.state())
    }

    /// [`of`](Self::of) from a table scan's session.
    pub fn of_session(session: &dyn Session) -> StageRejects {
        session
            .config()
            .get_extension::<StageRejects>()
            .map(|s| s.as_ref().clone())
            .unwrap_or_default()
    }

    /// A door that lets bad records through uncounted: for a look at the data before the
    /// run reads it (schema inference), which must not report them twice.
    pub fn discard() -> StageRejects {
        StageRejects {
            stage: String::new(),
            run: Rejects::new(&Settings {
                on_error: OnError::Skip,
                ..Settings::default()
            }),
        }
    }

    /// Whether bad records are let through (`skip`, `dead_letter`): a plugin may skip the
    /// work of isolating them when they are not.
    pub fn tolerates(&self) -> bool {
        self.run.on_error != OnError::Fail
    }

    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// Reports a bad record. An error means the run must fail with it: under
    /// `on_error: fail`, past `max_errors`, or when the dead-letter output has failed.
    pub async fn reject(&self, record: BadRecord) -> Result<()> {
        self.run.reject(&self.stage, record).await
    }
}

/// A session for one stage of the run in `ctx` (`input`, `inputs.countries`, `output`,
/// `outputs.eu`): the same tables, functions and memory, with its [`StageRejects`].
pub fn for_stage(ctx: &SessionContext, stage: &str) -> SessionContext {
    let Some(run) = Rejects::of(ctx) else {
        return ctx.clone();
    };
    let mut state = ctx.state();
    state.config_mut().set_extension(Arc::new(StageRejects {
        stage: stage.to_string(),
        run,
    }));
    SessionContext::new_with_state(state)
}

/// The columns of the dead-letter output.
pub fn dead_letter_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("raw", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("position", DataType::Utf8, false),
    ]))
}

/// Rows per dead-letter batch at most.
const DEAD_LETTER_BATCH: usize = 1024;

fn dead_letter_stream(rx: mpsc::Receiver<(String, BadRecord)>) -> SendableRecordBatchStream {
    let schema = dead_letter_schema();
    let batches = futures::stream::unfold((rx, schema.clone()), |(mut rx, schema)| async move {
        let first = rx.recv().await?;
        let mut records = vec![first];
        while records.len() < DEAD_LETTER_BATCH {
            match rx.try_recv() {
                Ok(r) => records.push(r),
                Err(_) => break,
            }
        }
        let batch = dead_letter_batch(&schema, &records);
        Some((batch, (rx, schema)))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

fn dead_letter_batch(schema: &SchemaRef, records: &[(String, BadRecord)]) -> Result<RecordBatch> {
    let mut columns: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    for (stage, r) in records {
        columns[0].append_value(&r.raw);
        columns[1].append_value(&r.reason);
        columns[2].append_value(stage);
        columns[3].append_value(&r.position);
    }
    let arrays = columns
        .iter_mut()
        .map(|b| Arc::new(b.finish()) as _)
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

/// Row `row` of `batch` as a JSON object, for a dead-letter row.
pub fn row_json(batch: &RecordBatch, row: usize) -> String {
    let mut out = Vec::new();
    let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
    let written = writer
        .write(&batch.slice(row, 1))
        .and_then(|_| writer.finish());
    match written {
        Ok(()) => String::from_utf8_lossy(&out).trim_end().to_string(),
        Err(e) => format!("(the row cannot be shown: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn settings(yaml_on_error: OnError, max: Option<MaxErrors>) -> Settings {
        Settings {
            on_error: yaml_on_error,
            max_errors: max,
            ..Settings::default()
        }
    }

    fn bad(n: u32) -> BadRecord {
        BadRecord {
            raw: format!("a,b,{n}"),
            reason: "expected 2 fields, found 3".into(),
            kind: "wrong field count".into(),
            position: format!("x.csv:{n}"),
        }
    }

    fn door(run: &Arc<Rejects>, stage: &str) -> StageRejects {
        StageRejects {
            stage: stage.into(),
            run: run.clone(),
        }
    }

    #[tokio::test]
    async fn fail_names_the_record() {
        let run = Rejects::new(&settings(OnError::Fail, None));
        let e = door(&run, "input").reject(bad(3)).await.unwrap_err();
        assert!(e.to_string().contains("x.csv:3: expected 2 fields"), "{e}");
    }

    #[tokio::test]
    async fn max_errors_n_allows_n() {
        let run = Rejects::new(&settings(OnError::Skip, Some(MaxErrors::Count(2))));
        let d = door(&run, "input");
        assert!(d.reject(bad(2)).await.is_ok());
        assert!(d.reject(bad(3)).await.is_ok());
        let e = d.reject(bad(4)).await.unwrap_err().to_string();
        assert!(
            e.contains("more than max_errors (2)") && e.contains("x.csv:4"),
            "{e}"
        );
        assert_eq!(run.counts().total(), 3);
    }

    #[tokio::test]
    async fn percentage_counts_the_bad_inputs_as_read() {
        let run = Rejects::new(&settings(OnError::Skip, Some(MaxErrors::Percent(10.0))));
        door(&run, "input").reject(bad(2)).await.expect("in a test");
        // 1 bad of 9 good + 1 bad = 10%: allowed; of 8 + 1: over.
        assert!(run.check_percentage(9).is_ok());
        assert!(run.check_percentage(8).is_err());
    }

    #[tokio::test]
    async fn dead_letter_rows_carry_the_stage() {
        let run = Rejects::new(&settings(OnError::DeadLetter, None));
        let mut stream = run.open_dead_letter();
        door(&run, "outputs.eu")
            .reject(bad(7))
            .await
            .expect("in a test");
        run.close();
        let batch = stream.next().await.expect("in a test").expect("in a test");
        assert_eq!(batch.num_rows(), 1);
        let col = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::StringArray>()
                .expect("in a test")
                .value(0)
                .to_string()
        };
        assert_eq!(
            (col(0), col(2), col(3)),
            ("a,b,7".into(), "outputs.eu".into(), "x.csv:7".into())
        );
        assert!(stream.next().await.is_none());
        assert_eq!(
            run.counts().to_string(),
            "1 (outputs.eu: wrong field count 1)"
        );
    }
}
