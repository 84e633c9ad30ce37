//! Broker messages (Kafka records, JetStream messages) to Arrow batches: JSON, CSV or raw
//! payloads, the schema given or inferred from the first messages, and opt-in metadata
//! columns. A message that does not decode is a bad record named by its position.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::csv::ReaderBuilder as CsvReaderBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::json::reader::{
    Decoder as JsonDecoder, ReaderBuilder as JsonReaderBuilder, infer_json_schema_from_iterator,
};
use datafusion::error::{DataFusionError, Result};
use fust_engine::{BadRecord, StageRejects, Taken};
use schemars::JsonSchema;
use serde::Deserialize;

/// How message payloads are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageFormat {
    /// One JSON object per message.
    #[default]
    Json,
    /// One CSV line per message, no header; needs `schema:`.
    Csv,
    /// The bytes as they are: a binary column `value` (and `key` for Kafka).
    Raw,
}

/// Where a stream input starts reading a part (a Kafka partition, a JetStream stream) for
/// which no position is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// Its first record still kept.
    #[default]
    Earliest,
    /// Records that arrive after the job starts.
    Latest,
}

/// A metadata column a stream input can add to its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metadata {
    /// Kafka: the record key, as text (`_key`).
    Key,
    /// Kafka: the partition (`_partition`).
    Partition,
    /// Kafka: the offset (`_offset`).
    Offset,
    /// NATS: the subject (`_subject`).
    Subject,
    /// NATS: the stream sequence (`_sequence`).
    Sequence,
    /// The broker's timestamp of the message (`_timestamp`, UTC).
    Timestamp,
    /// The headers, as a JSON object of strings (`_headers`).
    Headers,
}

impl Metadata {
    fn field(self) -> Field {
        let (name, ty) = match self {
            Metadata::Key => ("_key", DataType::Utf8),
            Metadata::Partition => ("_partition", DataType::Int32),
            Metadata::Offset => ("_offset", DataType::Int64),
            Metadata::Subject => ("_subject", DataType::Utf8),
            Metadata::Sequence => ("_sequence", DataType::Int64),
            Metadata::Timestamp => (
                "_timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            ),
            Metadata::Headers => ("_headers", DataType::Utf8),
        };
        Field::new(name, ty, true)
    }
}

/// One message as the brokers give it.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub payload: Bytes,
    pub key: Option<Bytes>,
    /// Kafka partition.
    pub partition: i32,
    /// Kafka offset or JetStream stream sequence.
    pub position: i64,
    /// NATS subject.
    pub subject: String,
    pub timestamp_ms: Option<i64>,
    pub headers: Vec<(String, String)>,
    /// Where it came from; [`Message::at`] names it.
    pub place: Place,
}

/// The part of a broker a message came from, kept shared so that naming a message costs
/// nothing until one is named (a bad record).
#[derive(Debug, Clone)]
pub enum Place {
    /// A Kafka topic; the message is `topic/partition@offset`.
    Topic(Arc<str>),
    /// A JetStream stream; the message is `STREAM seq N`.
    Stream(Arc<str>),
}

impl Default for Place {
    fn default() -> Self {
        Place::Stream(Arc::from(""))
    }
}

impl Message {
    /// Where it is, for messages: `orders/3@1200`, `ORDERS seq 77`.
    pub fn at(&self) -> String {
        match &self.place {
            Place::Topic(topic) => format!("{topic}/{}@{}", self.partition, self.position),
            Place::Stream(stream) => format!("{stream} seq {}", self.position),
        }
    }
}

/// Turns messages into batches of one schema.
#[derive(Debug, Clone)]
pub struct MessageDecoder {
    format: MessageFormat,
    /// The payload's columns.
    payload: SchemaRef,
    metadata: Vec<Metadata>,
    /// Whether `raw` has a `key` column (Kafka).
    raw_key: bool,
    schema: SchemaRef,
    /// JSON decoders between batches, shared by the decoder's clones: a decoder keeps
    /// its buffers' size when it is flushed, so a batch decoded with a kept one grows and
    /// zeroes none of them again.
    kept: Arc<Mutex<Vec<KeptJson>>>,
}

/// JSON decoders kept at most: about as many as batches are decoded at once.
const KEEP_JSON: usize = 4;

/// A JSON decoder and how many records a batch it decodes may hold.
#[derive(Debug)]
struct KeptJson {
    decoder: JsonDecoder,
    records: usize,
}

/// Columns of the `raw` format.
fn raw_fields(key: bool) -> Vec<Field> {
    let mut out = Vec::new();
    if key {
        out.push(Field::new("key", DataType::Binary, true));
    }
    out.push(Field::new("value", DataType::Binary, false));
    out
}

impl MessageDecoder {
    /// A decoder for `format`, with the payload columns `given` or inferred from `sample`.
    pub fn new(
        format: MessageFormat,
        given: Option<SchemaRef>,
        sample: &[Message],
        metadata: &[Metadata],
        raw_key: bool,
    ) -> Result<Self> {
        let payload = match (format, given) {
            (MessageFormat::Raw, _) => Arc::new(Schema::new(raw_fields(raw_key))),
            (_, Some(s)) => s,
            (MessageFormat::Csv, None) => {
                return Err(DataFusionError::Plan(
                    "`format: csv` needs `schema:` (the columns in their order, e.g. `{id: bigint, name: varchar}`)".into(),
                ));
            }
            (MessageFormat::Json, None) => infer_json(sample)?,
        };
        let mut fields: Vec<Field> = payload
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for m in metadata {
            let f = m.field();
            if fields.iter().any(|g| g.name() == f.name()) {
                return Err(DataFusionError::Plan(format!(
                    "metadata column `{}` has the name of a payload column",
                    f.name()
                )));
            }
            fields.push(f);
        }
        Ok(Self {
            format,
            payload,
            metadata: metadata.to_vec(),
            raw_key,
            schema: Arc::new(Schema::new(fields)),
            kept: Arc::default(),
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The messages as one batch. One that does not decode is a bad record for `rejects`
    /// (with `on_error: fail`, the error naming it).
    pub async fn decode(
        &self,
        messages: &[Message],
        rejects: &StageRejects,
    ) -> Result<RecordBatch> {
        let (payload, kept) = match self.decode_payloads(messages) {
            Ok(b) => (b, None),
            Err(_) => {
                let mut kept = Vec::with_capacity(messages.len());
                for m in messages {
                    match self.decode_payloads(std::slice::from_ref(m)) {
                        Ok(_) => kept.push(m.clone()),
                        Err(e) => {
                            rejects
                                .reject(BadRecord {
                                    raw: String::from_utf8_lossy(&m.payload).into_owned(),
                                    reason: e.to_string(),
                                    kind: self.bad_kind().into(),
                                    position: m.at(),
                                })
                                .await?;
                        }
                    }
                }
                (self.decode_payloads(&kept)?, Some(kept))
            }
        };
        let messages = kept.as_deref().unwrap_or(messages);
        let mut columns = payload.columns().to_vec();
        for m in &self.metadata {
            columns.push(metadata_column(*m, messages));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// The messages taken, to be decoded by [`decode`](Self::decode) beside the next read.
    pub fn taken(&self, messages: Vec<Message>, rejects: &StageRejects) -> Taken {
        let (decoder, rejects) = (self.clone(), rejects.clone());
        Taken {
            records: messages.len(),
            decode: Box::pin(async move { decoder.decode(&messages, &rejects).await }),
        }
    }

    fn bad_kind(&self) -> &'static str {
        match self.format {
            MessageFormat::Json => "invalid JSON",
            MessageFormat::Csv => "invalid CSV",
            MessageFormat::Raw => "invalid message",
        }
    }

    /// A JSON decoder for a batch of `records` messages: a kept one when one is large
    /// enough. It takes one record more than the messages, so that a message holding two
    /// records shows in the count instead of filling the batch and pushing a record out.
    fn json_decoder(&self, records: usize) -> Result<KeptJson> {
        if let Ok(mut kept) = self.kept.lock()
            && let Some(at) = kept.iter().position(|k| k.records > records)
        {
            return Ok(kept.swap_remove(at));
        }
        let decoder = JsonReaderBuilder::new(self.payload.clone())
            .with_coerce_primitive(true)
            .with_batch_size(records + 1)
            .build_decoder()?;
        Ok(KeptJson {
            decoder,
            records: records + 1,
        })
    }

    /// Keeps a decoder that flushed cleanly (one that failed may hold part of a record);
    /// past [`KEEP_JSON`], the smallest goes, as batches grow to the job's batch size.
    fn keep_json(&self, json: KeptJson) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.push(json);
            if kept.len() > KEEP_JSON {
                kept.sort_unstable_by_key(|k| std::cmp::Reverse(k.records));
                kept.truncate(KEEP_JSON);
            }
        }
    }

    /// The payload columns of `messages`; an error when one does not give exactly one row.
    fn decode_payloads(&self, messages: &[Message]) -> Result<RecordBatch> {
        let batch = match self.format {
            MessageFormat::Raw => {
                let mut values = BinaryBuilder::new();
                let mut keys = BinaryBuilder::new();
                for m in messages {
                    values.append_value(&m.payload);
                    keys.append_option(m.key.as_deref());
                }
                let mut cols: Vec<ArrayRef> = Vec::new();
                if self.raw_key {
                    cols.push(Arc::new(keys.finish()));
                }
                cols.push(Arc::new(values.finish()));
                RecordBatch::try_new(self.payload.clone(), cols)?
            }
            MessageFormat::Json => {
                let mut json = self.json_decoder(messages.len())?;
                let batch = decode_json(&mut json.decoder, messages)?
                    .unwrap_or_else(|| RecordBatch::new_empty(self.payload.clone()));
                self.keep_json(json);
                batch
            }
            MessageFormat::Csv => {
                let mut text = Vec::new();
                for m in messages {
                    text.extend_from_slice(m.payload.strip_suffix(b"\n").unwrap_or(&m.payload));
                    text.push(b'\n');
                }
                let reader = CsvReaderBuilder::new(self.payload.clone())
                    .with_header(false)
                    .with_batch_size(messages.len().max(1))
                    .build(Cursor::new(text))?;
                let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
                datafusion::arrow::compute::concat_batches(&self.payload, &batches)?
            }
        };
        if batch.num_rows() != messages.len() {
            return Err(DataFusionError::Execution(format!(
                "{} messages gave {} records: a message must hold exactly one record",
                messages.len(),
                batch.num_rows()
            )));
        }
        Ok(batch)
    }
}

/// `messages` through `decoder`, flushed; an error when a message ends inside a record.
fn decode_json(decoder: &mut JsonDecoder, messages: &[Message]) -> Result<Option<RecordBatch>> {
    for m in messages {
        let mut rest: &[u8] = &m.payload;
        while !rest.is_empty() {
            let used = decoder.decode(rest)?;
            if used == 0 {
                return Err(DataFusionError::Execution(
                    "a message must hold exactly one record".into(),
                ));
            }
            rest = &rest[used..];
        }
        // A message is one JSON value, never half of one.
        if decoder.has_partial_record() {
            return Err(DataFusionError::Execution(
                "the message ends inside a JSON value: a message must hold exactly one record"
                    .into(),
            ));
        }
    }
    Ok(decoder.flush()?)
}

/// The columns of JSON messages, from a sample.
fn infer_json(sample: &[Message]) -> Result<SchemaRef> {
    let values: Vec<serde_json::Value> = sample
        .iter()
        .filter_map(|m| serde_json::from_slice(&m.payload).ok())
        .filter(|v: &serde_json::Value| v.is_object())
        .collect();
    if values.is_empty() {
        return Err(DataFusionError::Plan(
            "no JSON object among the first messages to infer the columns from; give `schema:` (e.g. `schema: {id: bigint, name: varchar}`)".into(),
        ));
    }
    let schema = infer_json_schema_from_iterator(values.into_iter().map(Ok))
        .map_err(|e| DataFusionError::Plan(format!("inferring the messages' columns: {e}")))?;
    Ok(Arc::new(schema))
}

fn metadata_column(m: Metadata, messages: &[Message]) -> ArrayRef {
    match m {
        Metadata::Key => {
            let mut b = StringBuilder::new();
            for msg in messages {
                b.append_option(msg.key.as_ref().map(|k| String::from_utf8_lossy(k)));
            }
            Arc::new(b.finish())
        }
        Metadata::Partition => {
            let mut b = Int32Builder::new();
            messages
                .iter()
                .for_each(|msg| b.append_value(msg.partition));
            Arc::new(b.finish())
        }
        Metadata::Offset | Metadata::Sequence => {
            let mut b = Int64Builder::new();
            messages.iter().for_each(|msg| b.append_value(msg.position));
            Arc::new(b.finish())
        }
        Metadata::Subject => {
            let mut b = StringBuilder::new();
            messages.iter().for_each(|msg| b.append_value(&msg.subject));
            Arc::new(b.finish())
        }
        Metadata::Timestamp => {
            let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
            messages
                .iter()
                .for_each(|msg| b.append_option(msg.timestamp_ms));
            Arc::new(b.finish())
        }
        Metadata::Headers => {
            let mut b = StringBuilder::new();
            for msg in messages {
                let map: serde_json::Map<String, serde_json::Value> = msg
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                b.append_value(serde_json::Value::Object(map).to_string());
            }
            Arc::new(b.finish())
        }
    }
}

/// The payload columns given as `schema: {name: sql type}`.
pub fn given_schema(
    map: Option<&serde_json::Map<String, serde_json::Value>>,
) -> std::result::Result<Option<SchemaRef>, String> {
    let Some(map) = map else { return Ok(None) };
    match fust_engine::types::struct_type(map) {
        Ok(DataType::Struct(fields)) => Ok(Some(Arc::new(Schema::new(fields)))),
        Ok(_) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Int64Array};
    use datafusion::arrow::datatypes::Int64Type;

    fn msg(payload: &str, position: i64) -> Message {
        Message {
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            position,
            place: Place::Stream(Arc::from("S")),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn json_messages_with_metadata_and_a_bad_one() {
        let sample = [msg(r#"{"id": 1, "name": "a"}"#, 1)];
        let d = MessageDecoder::new(
            MessageFormat::Json,
            None,
            &sample,
            &[Metadata::Sequence],
            false,
        )
        .expect("decoder");
        let skip = StageRejects::discard();
        let batch = d
            .decode(
                &[
                    msg(r#"{"id": 1, "name": "a"}"#, 1),
                    msg("{oops", 2),
                    msg(r#"{"id": 3}"#, 3),
                ],
                &skip,
            )
            .await
            .expect("decodes");
        assert_eq!(batch.num_rows(), 2);
        let ids = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.values(), &[1, 3]);
        let seq = batch
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("seq");
        assert_eq!(seq.values(), &[1, 3]);
    }

    #[test]
    fn a_message_is_named_by_its_place() {
        let kafka = Message {
            partition: 3,
            position: 1200,
            place: Place::Topic(Arc::from("orders")),
            ..Default::default()
        };
        assert_eq!(kafka.at(), "orders/3@1200");
        assert_eq!(msg("{}", 77).at(), "S seq 77");
    }

    #[tokio::test]
    async fn a_kept_decoder_holds_nothing_of_a_failed_batch() {
        let sample = [msg(r#"{"id": 1}"#, 1)];
        let d =
            MessageDecoder::new(MessageFormat::Json, None, &sample, &[], false).expect("decoder");
        let skip = StageRejects::discard();
        let ids = |b: &RecordBatch| b.column(0).as_primitive::<Int64Type>().values().to_vec();
        // Half a record, then a message that would complete it: each is its own record.
        let bad = d
            .decode(&[msg(r#"{"id": 2, "#, 2), msg(r#""x": 0}"#, 3)], &skip)
            .await
            .expect("decodes");
        assert_eq!(bad.num_rows(), 0);
        let good = d
            .decode(&[msg(r#"{"id": 4}"#, 4), msg(r#"{"id": 5}"#, 5)], &skip)
            .await
            .expect("decodes");
        assert_eq!(ids(&good), [4, 5]);
        // More messages than a kept decoder takes, then fewer again.
        let many: Vec<Message> = (6..106)
            .map(|i| msg(&format!(r#"{{"id": {i}}}"#), i))
            .collect();
        let big = d.decode(&many, &skip).await.expect("decodes");
        assert_eq!(ids(&big), (6..106).collect::<Vec<i64>>());
        let one = d
            .decode(&[msg(r#"{"id": 106}"#, 106)], &skip)
            .await
            .expect("decodes");
        assert_eq!(ids(&one), [106]);
    }

    #[tokio::test]
    async fn two_records_in_one_message_are_refused() {
        let sample = [msg(r#"{"id": 1}"#, 1)];
        let d =
            MessageDecoder::new(MessageFormat::Json, None, &sample, &[], false).expect("decoder");
        let fail = StageRejects::default();
        let err = d
            .decode(&[msg(r#"{"id": 1}{"id": 2}"#, 7)], &fail)
            .await
            .expect_err("two records");
        assert!(err.to_string().contains("S seq 7"), "{err}");
    }
}
