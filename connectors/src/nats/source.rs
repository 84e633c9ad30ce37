//! The `nats` input: a durable pull consumer on a JetStream stream. On start it is
//! (re)created at the stream sequence after the committed one, so a restart reads exactly
//! what was not committed; messages are acknowledged (all up to the epoch's last) once the
//! epoch has committed, and a sequence already taken is never handed out twice.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as PullStream};
use async_nats::jetstream::consumer::{AckPolicy, Consumer, DeliverPolicy};
use async_nats::jetstream::{self, Message as JsMessage};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use fust_engine::{
    Checkpoints, OpenMode, OptionError, Source, Span, StageRejects, StreamReader, StreamSource,
    Taken,
};
use futures::{FutureExt, StreamExt};

use super::client::{connect, external};
use super::config::NatsSourceConfig;
use crate::common::messages::{
    Message, MessageDecoder, MessageFormat, Metadata, Place, StartFrom, given_schema,
};

/// The most messages `infer_records` may ask for.
const MAX_MESSAGES: usize = 100_000;

/// The most messages `fetch_messages` may ask for: a pull stream can have one and a half
/// pulls in flight, which must fit the client's subscription buffer (65,536 messages),
/// or the client drops messages.
const MAX_FETCH: usize = 20_000;

/// The longest wait for the stream's first messages when inferring the schema.
const INFER_WAIT: Duration = Duration::from_secs(10);

/// The longest pause between attempts to get the message stream back after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) fn build_source(c: NatsSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    OptionError::check_range("infer_records", c.infer_records, 1, MAX_MESSAGES)?;
    OptionError::check_range("fetch_messages", c.fetch_messages, 1, MAX_FETCH)?;
    if c.stream.trim().is_empty() {
        return Err(OptionError::new(
            "stream",
            "name the JetStream stream to read",
        ));
    }
    if let Some(m) = c
        .metadata
        .iter()
        .find(|m| matches!(m, Metadata::Key | Metadata::Partition | Metadata::Offset))
    {
        return Err(OptionError::new(
            "metadata",
            format!("`{m:?}` is a Kafka column; a NATS message has subject, sequence, timestamp and headers")
                .to_lowercase(),
        ));
    }
    let schema = given_schema(c.schema.as_ref()).map_err(|e| OptionError::new("schema", e))?;
    if c.format == MessageFormat::Csv && schema.is_none() {
        return Err(OptionError::new(
            "schema",
            "`format: csv` needs `schema:` (the columns in their order)",
        ));
    }
    Ok(Arc::new(NatsSource {
        config: Arc::new(c),
        schema,
    }))
}

/// A JetStream stream as a job input.
#[derive(Debug)]
struct NatsSource {
    config: Arc<NatsSourceConfig>,
    schema: Option<SchemaRef>,
}

impl NatsSource {
    fn durable(&self) -> String {
        self.config
            .durable
            .clone()
            .unwrap_or_else(|| format!("fust_{}", self.config.stream))
    }
}

#[async_trait]
impl Source for NatsSource {
    fn describe(&self) -> String {
        format!("nats stream {} at {}", self.config.stream, self.config.url)
    }

    fn stream(&self) -> Option<&dyn StreamSource> {
        Some(self)
    }
}

#[async_trait]
impl StreamSource for NatsSource {
    async fn open(
        &self,
        _ctx: &SessionContext,
        checkpoints: Arc<dyn Checkpoints>,
        mode: OpenMode,
    ) -> Result<Box<dyn StreamReader>> {
        let c = &self.config;
        let client = connect(&c.url, c.auth.as_ref(), c.tls, c.ca_file.as_deref()).await?;
        let js = jetstream::new(client);
        let stream = js.get_stream(&c.stream).await.map_err(|e| {
            external(format!(
                "{}: cannot open the stream: {e}",
                Source::describe(self)
            ))
        })?;
        let committed = checkpoints.load().await?.get(&c.stream);
        let mut reader = NatsReader {
            config: c.clone(),
            describe: Source::describe(self),
            durable: self.durable(),
            stream,
            place: Place::Stream(Arc::from(c.stream.as_str())),
            checkpoints,
            mode,
            consumer: None,
            messages: None,
            buffer: VecDeque::new(),
            committed,
            taken: committed.unwrap_or(0),
            seen: committed.unwrap_or(0),
            last: None,
            delivered: 0,
            decoder: None,
        };
        reader.start().await?;
        let sample = match (&self.schema, c.format) {
            (None, MessageFormat::Json) => reader.sample(c.infer_records).await?,
            _ => Vec::new(),
        };
        reader.decoder = Some(MessageDecoder::new(
            c.format,
            self.schema.clone(),
            &sample,
            &c.metadata,
            false,
        )?);
        Ok(Box::new(reader))
    }

    fn describe(&self) -> String {
        Source::describe(self)
    }

    fn declared_schema(&self) -> Option<SchemaRef> {
        let c = &self.config;
        if self.schema.is_none() && c.format != MessageFormat::Raw {
            return None;
        }
        MessageDecoder::new(c.format, self.schema.clone(), &[], &c.metadata, false)
            .ok()
            .map(|d| d.schema())
    }
}

/// An open pull consumer and the messages fetched but not handed out yet.
struct NatsReader {
    config: Arc<NatsSourceConfig>,
    describe: String,
    durable: String,
    stream: jetstream::stream::Stream,
    /// The stream, shared by its messages.
    place: Place,
    checkpoints: Arc<dyn Checkpoints>,
    mode: OpenMode,
    consumer: Option<Consumer<PullConfig>>,
    messages: Option<PullStream>,
    buffer: VecDeque<JsMessage>,
    /// The stream sequence committed with the output (`None`: nothing yet).
    committed: Option<i64>,
    /// The last sequence handed out.
    taken: i64,
    /// The last sequence fetched: a message at or below it is a redelivery, dropped.
    seen: i64,
    /// The last message handed out, acknowledged (with all before it) after the commit.
    last: Option<JsMessage>,
    /// The consumer sequence of the last message fetched from the current consumer.
    delivered: u64,
    decoder: Option<MessageDecoder>,
}

impl NatsReader {
    /// (Re)creates the consumer after the committed sequence and opens its message stream.
    async fn start(&mut self) -> Result<()> {
        let c = &self.config;
        // After the last sequence fetched: at the start, the committed one; after a lost
        // connection, the last one this reader has, as messages the server sent meanwhile
        // would wait out `ack_wait` before being sent again.
        let deliver_policy = match (self.seen, c.start_from) {
            (seq, _) if seq > 0 => DeliverPolicy::ByStartSequence {
                start_sequence: seq as u64 + 1,
            },
            (_, StartFrom::Earliest) => DeliverPolicy::All,
            (_, StartFrom::Latest) => DeliverPolicy::New,
        };
        let mut config = PullConfig {
            deliver_policy,
            ack_wait: c.ack_wait.0,
            filter_subject: c.subject.clone().unwrap_or_default(),
            // An epoch holds its messages unacknowledged until it commits.
            max_ack_pending: -1,
            ..Default::default()
        };
        let consumer = match self.mode {
            OpenMode::Peek => {
                config.ack_policy = AckPolicy::None;
                config.inactive_threshold = Duration::from_secs(30);
                self.stream.create_consumer(config).await
            }
            OpenMode::Run => {
                config.ack_policy = AckPolicy::All;
                config.durable_name = Some(self.durable.clone());
                // The stored position decides where to start, not the durable's ack
                // floor: an earlier run's unacknowledged messages would otherwise wait
                // out `ack_wait` before the server delivers them again.
                let _ = self.stream.delete_consumer(&self.durable).await;
                self.stream.create_consumer(config).await
            }
        }
        .map_err(|e| {
            external(format!(
                "{}: cannot create the consumer: {e}",
                self.describe
            ))
        })?;
        self.consumer = Some(consumer);
        self.delivered = 0;
        self.open_messages().await
    }

    async fn open_messages(&mut self) -> Result<()> {
        let Some(consumer) = &self.consumer else {
            return Ok(());
        };
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.config.fetch_messages)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| external(format!("{}: cannot pull messages: {e}", self.describe)))?;
        self.messages = Some(messages);
        Ok(())
    }

    /// Fetches until a message is buffered or `wait` has passed. A broken message stream
    /// is opened again with backoff, on a consumer created again after the last sequence
    /// fetched (the client reconnects to the server by itself).
    async fn fetch(&mut self, wait: Duration) -> Result<bool> {
        let deadline = Instant::now() + wait;
        let mut backoff = Duration::from_millis(100);
        while self.buffer.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(messages) = self.messages.as_mut() else {
                if left.is_zero() {
                    return Ok(false);
                }
                tokio::time::sleep(backoff.min(left)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if let Err(e) = self.start().await {
                    tracing::warn!(error = %e, "NATS: pulling again failed; retrying");
                }
                continue;
            };
            match tokio::time::timeout(left, messages.next()).await {
                Err(_) => return Ok(false),
                Ok(Some(Ok(m))) => self.keep(m)?,
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, stream = %self.config.stream, "NATS: pulling messages failed; pulling again");
                    self.messages = None;
                }
                Ok(None) => self.messages = None,
            }
        }
        Ok(true)
    }

    /// Buffers `m` unless it is a redelivery of a sequence already fetched. A gap in the
    /// consumer's sequence means the client dropped messages (a slow consumer): the pull
    /// stream is then opened again after the last sequence kept, so none is skipped.
    fn keep(&mut self, m: JsMessage) -> Result<()> {
        let info = m.info().map_err(|e| {
            external(format!(
                "{}: a message without JetStream info: {e}",
                self.describe
            ))
        })?;
        let (seq, delivered) = (info.stream_sequence as i64, info.consumer_sequence);
        if self.delivered != 0 && delivered > self.delivered + 1 {
            tracing::warn!(stream = %self.config.stream, after = self.seen, "NATS: messages were dropped by the client; reading again after the last one kept");
            self.messages = None;
            return Ok(());
        }
        self.delivered = self.delivered.max(delivered);
        if seq > self.seen {
            self.seen = seq;
            self.buffer.push_back(m);
        }
        Ok(())
    }

    /// Moves what the client already holds into the buffer, without waiting, up to `max`.
    fn drain_ready(&mut self, max: usize) -> Result<()> {
        while self.buffer.len() < max {
            let Some(messages) = self.messages.as_mut() else {
                break;
            };
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => self.keep(m)?,
                _ => break,
            }
        }
        Ok(())
    }

    /// The stream's first messages (from its start, whatever was committed, so every
    /// run infers the same columns), read by a throwaway consumer.
    async fn sample(&self, want: usize) -> Result<Vec<Message>> {
        let config = PullConfig {
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::None,
            filter_subject: self.config.subject.clone().unwrap_or_default(),
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        };
        let consumer =
            self.stream.create_consumer(config).await.map_err(|e| {
                external(format!("{}: cannot create a consumer: {e}", self.describe))
            })?;
        let mut batch = consumer
            .fetch()
            .max_messages(want)
            .expires(INFER_WAIT)
            .messages()
            .await
            .map_err(|e| external(format!("{}: cannot fetch messages: {e}", self.describe)))?;
        let mut out = Vec::new();
        while out.len() < want {
            match tokio::time::timeout(INFER_WAIT, batch.next()).await {
                Ok(Some(Ok(m))) => out.push(self.message(&m)),
                _ => break,
            }
        }
        if out.is_empty() {
            return Err(DataFusionError::Plan(format!(
                "{}: the stream has no message to infer the columns from; give `schema:` (e.g. `schema: {{id: bigint, name: varchar}}`)",
                self.describe,
            )));
        }
        Ok(out)
    }

    fn message(&self, m: &JsMessage) -> Message {
        let info = m.info().ok();
        let seq = info.as_ref().map_or(0, |i| i.stream_sequence as i64);
        let headers = m
            .headers
            .iter()
            .flat_map(|h| h.iter())
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |v| (name.to_string(), v.to_string()))
            })
            .collect();
        Message {
            payload: m.payload.clone(),
            key: None,
            partition: 0,
            position: seq,
            subject: m.subject.to_string(),
            timestamp_ms: info.map(|i| (i.published.unix_timestamp_nanos() / 1_000_000) as i64),
            headers,
            place: self.place.clone(),
        }
    }
}

#[async_trait]
impl StreamReader for NatsReader {
    fn schema(&self) -> SchemaRef {
        self.decoder
            .as_ref()
            .map(|d| d.schema())
            .unwrap_or_else(|| Arc::new(datafusion::arrow::datatypes::Schema::empty()))
    }

    async fn next_batch(
        &mut self,
        max_rows: usize,
        wait: Duration,
        rejects: &StageRejects,
    ) -> Result<Option<Taken>> {
        if !self.fetch(wait).await? {
            return Ok(None);
        }
        self.drain_ready(max_rows)?;
        let Some(decoder) = &self.decoder else {
            return Ok(None);
        };
        let n = self.buffer.len().min(max_rows);
        let taken: Vec<JsMessage> = self.buffer.drain(..n).collect();
        let messages: Vec<Message> = taken.iter().map(|m| self.message(m)).collect();
        if let Some(m) = messages.last() {
            self.taken = m.position;
        }
        self.last = taken.into_iter().last();
        Ok(Some(decoder.taken(messages, rejects)))
    }

    async fn ready(&mut self, wait: Duration) -> Result<bool> {
        self.fetch(wait).await
    }

    fn epoch(&self) -> Vec<Span> {
        match self.taken > self.committed.unwrap_or(0) {
            true => vec![Span {
                part: self.config.stream.clone(),
                from: self.committed,
                to: self.taken,
            }],
            false => Vec::new(),
        }
    }

    async fn committed(&mut self) -> Result<()> {
        self.committed = Some(self.taken).filter(|t| *t > 0).or(self.committed);
        if let Some(last) = self.last.take()
            && self.mode == OpenMode::Run
        {
            // Acknowledges every message up to it (AckPolicy::All). A lost ack is harmless:
            // the next start begins after the committed sequence anyway.
            if let Err(e) = last.double_ack().await {
                tracing::warn!(error = %e, stream = %self.config.stream, "NATS: acknowledging failed");
            }
        }
        Ok(())
    }

    async fn rewind(&mut self) -> Result<()> {
        self.committed = self.checkpoints.load().await?.get(&self.config.stream);
        self.taken = self.committed.unwrap_or(0);
        self.seen = self.taken;
        self.buffer.clear();
        self.last = None;
        self.messages = None;
        self.start().await
    }

    async fn lag(&mut self) -> Vec<(String, u64)> {
        let buffered = self.buffer.len() as u64;
        let Some(consumer) = self.consumer.as_mut() else {
            return Vec::new();
        };
        match consumer.info().await {
            Ok(info) => vec![(self.config.stream.clone(), info.num_pending + buffered)],
            Err(_) => Vec::new(),
        }
    }
}
