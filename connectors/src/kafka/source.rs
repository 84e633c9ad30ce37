//! The `kafka` input: options checked when the job is built; at open, the topics looked
//! up, the schema given or inferred from the first records of the topics (read by a
//! throwaway consumer outside the group), then a reader in the consumer group (a run) or
//! on every partition without a group (a preview).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoints, OpenMode, OptionError, Source, StreamReader, StreamSource};
use rdkafka::Offset;

use super::client::Client;
use super::config::KafkaSourceConfig;
use super::fetch::{Fetcher, throwaway_group};
use super::group::TopicPart;
use super::reader::KafkaReader;
use crate::common::messages::{
    Message, MessageDecoder, MessageFormat, Metadata, StartFrom, given_schema,
};

/// The most records `infer_records` may ask for.
const MAX_INFER_RECORDS: usize = 1_000_000;
/// How long a run's opening waits for the consumer group to assign partitions.
const JOIN_WAIT: Duration = Duration::from_secs(60);
/// How long opening waits for the records the schema is inferred from.
const INFER_WAIT: Duration = Duration::from_secs(10);
/// Sampling ends when no record came for this long.
const QUIET: Duration = Duration::from_secs(1);

/// A Kafka topic (or several) read as a stream.
#[derive(Debug)]
pub struct KafkaSource {
    config: KafkaSourceConfig,
    client: Client,
    topics: Vec<String>,
    /// The decoder, when the columns are known without reading (`schema:` or `raw`).
    decoder: Option<MessageDecoder>,
}

pub(super) fn build_source(c: KafkaSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    let client = Client::from_options(c.client())?;
    let topics = match (&c.topic, c.topics.is_empty()) {
        (Some(t), true) => vec![t.clone()],
        (None, false) => c.topics.clone(),
        (Some(_), false) => {
            return Err(OptionError::new(
                "topics",
                "give `topic` or `topics`, not both",
            ));
        }
        (None, true) => return Err(OptionError::new("", "give `topic` (or `topics`)")),
    };
    if let Some(bad) = topics.iter().find(|t| !valid_topic(t)) {
        return Err(OptionError::new(
            if c.topic.is_some() { "topic" } else { "topics" },
            format!(
                "`{bad}` is not a Kafka topic name (letters, digits, `.`, `_` and `-`, at most 249)"
            ),
        ));
    }
    if c.group_id.trim().is_empty() {
        return Err(OptionError::new(
            "group_id",
            "give the consumer group's name",
        ));
    }
    OptionError::check_range("infer_records", c.infer_records, 1, MAX_INFER_RECORDS)?;
    if let Some(m) = c
        .metadata
        .iter()
        .find(|m| matches!(m, Metadata::Subject | Metadata::Sequence))
    {
        return Err(OptionError::new(
            "metadata",
            format!(
                "`{m:?}` is a NATS column; Kafka has key, partition, offset, timestamp and headers"
            )
            .to_lowercase(),
        ));
    }
    let schema = given_schema(c.schema.as_ref()).map_err(|e| OptionError::new("schema", e))?;
    if c.format == MessageFormat::Csv && schema.is_none() {
        return Err(OptionError::new(
            "schema",
            "`format: csv` needs `schema:` (the columns in their order, e.g. `{id: bigint, name: varchar}`)",
        ));
    }
    // Made now when the columns are known (which checks them: a metadata column named
    // like a payload one); else at open, from the first records.
    let decoder = match (&schema, c.format) {
        (None, MessageFormat::Json) => None,
        _ => Some(
            MessageDecoder::new(c.format, schema, &[], &c.metadata, true)
                .map_err(|e| OptionError::new("metadata", e.to_string()))?,
        ),
    };
    Ok(Arc::new(KafkaSource {
        config: c,
        client,
        topics,
        decoder,
    }))
}

/// Kafka's rule for topic names.
fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 249
        && t != "."
        && t != ".."
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[async_trait]
impl Source for KafkaSource {
    fn describe(&self) -> String {
        StreamSource::describe(self)
    }

    fn stream(&self) -> Option<&dyn StreamSource> {
        Some(self)
    }
}

#[async_trait]
impl StreamSource for KafkaSource {
    async fn open(
        &self,
        _ctx: &SessionContext,
        checkpoints: Arc<dyn Checkpoints>,
        mode: OpenMode,
    ) -> Result<Box<dyn StreamReader>> {
        let c = &self.config;
        self.client.check_egress().await?;
        let reset = match c.start_from {
            StartFrom::Earliest => "earliest",
            StartFrom::Latest => "latest",
        };
        let mut fetch = match mode {
            OpenMode::Run => Fetcher::new(&self.client, &c.group_id, reset, &self.topics)?,
            OpenMode::Peek => self.outside_group()?,
        };
        fetch.headers = c.metadata.contains(&Metadata::Headers);
        let parts = fetch.partitions().await?;
        let decoder = match &self.decoder {
            Some(d) => d.clone(),
            None => {
                let sample = self.sample(parts.clone()).await?;
                MessageDecoder::new(c.format, None, &sample, &c.metadata, true)?
            }
        };
        let positions = checkpoints.load().await?;
        let committed: HashMap<TopicPart, i64> = positions
            .0
            .iter()
            .filter_map(|(part, pos)| Some((TopicPart::parse(part, &fetch.topics)?, *pos)))
            .collect();
        match mode {
            OpenMode::Run => fetch.subscribe()?,
            OpenMode::Peek => fetch.assign(
                parts
                    .into_iter()
                    .map(|tp| {
                        let start = committed
                            .get(&tp)
                            .map_or(Offset::Beginning, |p| Offset::Offset(p + 1));
                        (tp, start)
                    })
                    .collect(),
            )?,
        }
        tracing::info!(source = %StreamSource::describe(self), group = %c.group_id, stored = committed.len(), "Kafka input open");
        let mut reader = KafkaReader::new(
            fetch,
            decoder,
            checkpoints,
            mode,
            c.start_from,
            committed,
        );
        if mode == OpenMode::Run {
            reader.join(JOIN_WAIT).await?;
        }
        Ok(Box::new(reader))
    }

    fn describe(&self) -> String {
        format!("kafka {} @ {}", self.topics.join(","), self.client.brokers)
    }

    fn declared_schema(&self) -> Option<SchemaRef> {
        self.decoder.as_ref().map(MessageDecoder::schema)
    }
}

impl KafkaSource {
    /// A consumer that never joins its group (it assigns), from the beginning.
    fn outside_group(&self) -> Result<Fetcher> {
        Fetcher::new(&self.client, &throwaway_group(), "earliest", &self.topics)
    }

    /// The first records of `parts` (at most `infer_records`), for the schema: read from
    /// the beginning by a consumer outside the group until none comes for [`QUIET`] or
    /// [`INFER_WAIT`] is over. An empty topic is an error asking for `schema:`.
    async fn sample(&self, parts: Vec<TopicPart>) -> Result<Vec<Message>> {
        let mut fetch = self.outside_group()?;
        let marks = fetch.watermarks(parts.clone()).await;
        let what = fetch.what();
        let no_records = || {
            DataFusionError::Plan(format!(
                "kafka {}: {what} holds no records to infer the columns from; give `schema:` (e.g. `schema: {{id: bigint, name: varchar}}`)",
                self.client.brokers,
            ))
        };
        if marks.len() == parts.len() && marks.iter().all(|(_, low, high)| high <= low) {
            return Err(no_records());
        }
        fetch.assign(
            parts
                .into_iter()
                .map(|tp| (tp, Offset::Beginning))
                .collect(),
        )?;
        let want = self.config.infer_records;
        let deadline = Instant::now() + INFER_WAIT;
        while fetch.buffer.len() < want && Instant::now() < deadline {
            let before = fetch.buffer.len();
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(QUIET);
            fetch.fill(want, wait, |_| None).await?;
            if before > 0 && fetch.buffer.len() == before {
                break;
            }
        }
        if fetch.buffer.is_empty() {
            return Err(no_records());
        }
        Ok(fetch.buffer.drain(..).map(|(_, m)| m).collect())
    }
}
