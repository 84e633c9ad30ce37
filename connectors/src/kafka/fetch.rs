//! [`Fetcher`]: a librdkafka consumer and the records fetched from it but not yet handed
//! out. It fills its buffer many records per call (the first awaited, the others taken
//! while they are ready), and does the consumer's blocking calls (metadata, watermarks,
//! seeks) on the blocking pool.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use datafusion::error::{DataFusionError, Result};
use futures::{FutureExt, StreamExt};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message as _, Offset};
use tokio::task::JoinHandle;

use super::client::{Client, METADATA_TIMEOUT};
use super::group::{TopicPart, Tracker};
use crate::common::messages::{Message, Place};

/// How long the watermarks of all partitions may take to read, for the lag.
const WATERMARKS_BUDGET: Duration = Duration::from_secs(2);
/// How long a seek may wait for librdkafka.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);
/// The size of the blocks the records' payloads are copied into, many to a block, so
/// that a record costs no allocation of its own.
const BLOCK: usize = 1 << 20;

/// Per partition, its low and high watermark.
pub(super) type Watermarks = Vec<(TopicPart, i64, i64)>;

/// A consumer and its fetched records.
pub(super) struct Fetcher {
    pub consumer: Arc<StreamConsumer<Tracker>>,
    pub client: Client,
    /// The topics read, shared by the records' [`TopicPart`]s.
    pub topics: Vec<Arc<str>>,
    /// Fetched, not yet handed out, in the order they came.
    pub buffer: VecDeque<(TopicPart, Message)>,
    /// The rest of the block the next payloads are copied into.
    block: BytesMut,
    /// Whether the records' headers are read (asked for as a column).
    pub headers: bool,
}

impl Fetcher {
    /// A consumer of `topics` in `group`, starting where nothing is committed at `reset`
    /// (`earliest`, `latest`), with the client's settings over Fust's (offsets are only
    /// committed by the reader).
    pub fn new(client: &Client, group: &str, reset: &str, topics: &[String]) -> Result<Fetcher> {
        let defaults = [
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("auto.offset.reset", reset),
            // librdkafka stops fetching for a second once its queue is full (1000 ms by
            // default), and a reader slower than the broker then waits on an empty queue
            // for most of that second: a quarter of the time reading 2M records. A job's
            // `properties` may set another.
            ("fetch.queue.backoff.ms", "10"),
        ];
        let consumer: StreamConsumer<Tracker> = client
            .config(&defaults)
            .create_with_context(Tracker::default())
            .map_err(|e| {
                client.error(
                    "",
                    "creating a consumer (check `properties` and the security options)",
                    e,
                )
            })?;
        Ok(Fetcher {
            consumer: Arc::new(consumer),
            client: client.clone(),
            topics: topics.iter().map(|t| Arc::from(t.as_str())).collect(),
            buffer: VecDeque::new(),
            block: BytesMut::new(),
            headers: false,
        })
    }

    /// A consumer of the same topics that never joins its group (it only assigns).
    pub fn probe(&self) -> Result<Fetcher> {
        let topics: Vec<String> = self.topics.iter().map(|t| t.to_string()).collect();
        Fetcher::new(&self.client, &throwaway_group(), "earliest", &topics)
    }

    pub fn tracker(&self) -> &Tracker {
        self.consumer.context()
    }

    /// Every partition of the topics, from the brokers' metadata.
    pub async fn partitions(&self) -> Result<Vec<TopicPart>> {
        let mut out = Vec::new();
        for topic in &self.topics {
            let (consumer, name) = (self.consumer.clone(), topic.clone());
            let metadata =
                blocking(move || consumer.fetch_metadata(Some(&name), METADATA_TIMEOUT)).await?;
            for partition in self.client.partitions(topic, metadata)? {
                out.push(TopicPart {
                    topic: topic.clone(),
                    partition,
                });
            }
        }
        Ok(out)
    }

    /// Reads `parts` without a group, each from `start`.
    pub fn assign(&self, parts: Vec<(TopicPart, Offset)>) -> Result<()> {
        self.consumer.assign(&TopicPart::list(parts)).map_err(|e| {
            self.client
                .error(&self.what(), "assigning its partitions", e)
        })
    }

    /// Joins the consumer group on the topics.
    pub fn subscribe(&self) -> Result<()> {
        let topics: Vec<&str> = self.topics.iter().map(|t| t.as_ref()).collect();
        self.consumer.subscribe(&topics).map_err(|e| {
            self.client
                .error(&self.what(), "joining the consumer group", e)
        })
    }

    /// The partitions this consumer reads now.
    pub fn assignment(&self) -> Result<Vec<TopicPart>> {
        let tpl = self
            .consumer
            .assignment()
            .map_err(|e| self.client.error(&self.what(), "reading the assignment", e))?;
        Ok(tpl
            .elements()
            .iter()
            .filter_map(|e| {
                let topic = self.topics.iter().find(|t| t.as_ref() == e.topic())?;
                Some(TopicPart {
                    topic: topic.clone(),
                    partition: e.partition(),
                })
            })
            .collect())
    }

    /// Moves the partitions to the offsets given and drops their buffered records. A
    /// partition that cannot move is reported and read on where it is (the reader drops
    /// what it already took).
    pub async fn seek(&mut self, to: Vec<(TopicPart, i64)>) -> Result<()> {
        if to.is_empty() {
            return Ok(());
        }
        self.buffer
            .retain(|(tp, _)| !to.iter().any(|(t, _)| t == tp));
        let tpl = TopicPart::list(to.into_iter().map(|(tp, o)| (tp, Offset::Offset(o))));
        let consumer = self.consumer.clone();
        let done = blocking(move || consumer.seek_partitions(tpl, SEEK_TIMEOUT)).await?;
        match done {
            Ok(tpl) => {
                for e in tpl.elements() {
                    if let Err(err) = e.error() {
                        tracing::warn!(part = %format!("{}/{}", e.topic(), e.partition()), error = %err, "Kafka seek failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "Kafka seek failed"),
        }
        Ok(())
    }

    /// The low and high watermarks of `parts`, as many as come within a short budget.
    pub async fn watermarks(&self, parts: Vec<TopicPart>) -> Vec<(TopicPart, i64, i64)> {
        self.watermarks_task(parts).await.unwrap_or_default()
    }

    /// [`watermarks`](Self::watermarks), read on the blocking pool while the caller goes on.
    /// One ListOffsets request per broker for the earliest offsets of all of `parts`, one
    /// for the latest (asking per partition waits behind the consumer's fetch long poll
    /// each time: a second for every two partitions).
    pub fn watermarks_task(&self, parts: Vec<TopicPart>) -> JoinHandle<Watermarks> {
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let offsets = |at: Offset| -> HashMap<TopicPart, i64> {
                let left = WATERMARKS_BUDGET.saturating_sub(started.elapsed());
                let asked = TopicPart::list(parts.iter().map(|tp| (tp.clone(), at)));
                let Ok(answer) = consumer.offsets_for_times(asked, left) else {
                    return HashMap::new();
                };
                answer
                    .elements()
                    .iter()
                    .filter_map(|e| {
                        let Offset::Offset(offset) = e.offset() else {
                            return None;
                        };
                        let tp = parts
                            .iter()
                            .find(|tp| tp.partition == e.partition() && &*tp.topic == e.topic())?;
                        e.error().is_ok().then(|| (tp.clone(), offset))
                    })
                    .collect()
            };
            // The earliest and latest offsets: librdkafka sends -2 and -1 as the times.
            let (low, high) = (offsets(Offset::Beginning), offsets(Offset::End));
            parts
                .iter()
                .filter_map(|tp| Some((tp.clone(), *low.get(tp)?, *high.get(tp)?)))
                .collect()
        })
    }

    /// Fetches until the buffer holds `max` records: waits at most `wait` for the first,
    /// then takes only those ready at once. Records at or below the offset `taken` gives
    /// for their partition are dropped. Returns early when the assignment changed.
    pub async fn fill(
        &mut self,
        max: usize,
        wait: Duration,
        taken: impl Fn(&TopicPart) -> Option<i64>,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut first = true;
        // The last partition seen and what it had taken: records come in runs of one.
        let mut last: Option<(TopicPart, Option<i64>)> = None;
        // One message stream for the whole fill (each `recv` would register a new one).
        let consumer = self.consumer.clone();
        let mut messages = consumer.stream();
        while self.buffer.len() < max {
            let next = if std::mem::take(&mut first) {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(Some(r)) => r,
                    Ok(None) | Err(_) => return Ok(()),
                }
            } else {
                match messages.next().now_or_never() {
                    Some(Some(r)) => r,
                    Some(None) | None => return Ok(()),
                }
            };
            let m = next.map_err(|e| self.client.error(&self.what(), "reading", e))?;
            let (tp, message) = self.owned(&m);
            let floor = match &last {
                Some((at, floor)) if *at == tp => *floor,
                _ => {
                    let floor = taken(&tp);
                    last = Some((tp.clone(), floor));
                    floor
                }
            };
            if floor.is_none_or(|t| message.position > t) {
                self.buffer.push_back((tp, message));
            }
            if self.tracker().changed() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// `topic `a`` or `topics `a`, `b``, for messages.
    pub fn what(&self) -> String {
        let names: Vec<String> = self.topics.iter().map(|t| format!("`{t}`")).collect();
        match names.len() {
            1 => format!("topic {}", names[0]),
            _ => format!("topics {}", names.join(", ")),
        }
    }

    /// A record as the decoder takes it.
    fn owned(&mut self, m: &BorrowedMessage<'_>) -> (TopicPart, Message) {
        let topic = match self.topics.as_slice() {
            [only] => only.clone(),
            topics => topics
                .iter()
                .find(|t| t.as_ref() == m.topic())
                .cloned()
                .unwrap_or_else(|| Arc::from(m.topic())),
        };
        let tp = TopicPart {
            topic,
            partition: m.partition(),
        };
        // Asked of librdkafka only when wanted: it parses them from the record each time.
        let headers = match self.headers.then(|| m.headers()).flatten() {
            Some(h) => h
                .iter()
                .map(|h| {
                    let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
                    (h.key.to_string(), value.into_owned())
                })
                .collect(),
            None => Vec::new(),
        };
        let message = Message {
            payload: m.payload().map(|p| self.keep(p)).unwrap_or_default(),
            key: m.key().map(|k| self.keep(k)),
            partition: m.partition(),
            position: m.offset(),
            subject: String::new(),
            timestamp_ms: m.timestamp().to_millis(),
            headers,
            place: Place::Topic(tp.topic.clone()),
        };
        (tp, message)
    }

    /// A copy of `bytes` in the current block (a new one when it is full), which the
    /// record shares with the others there.
    fn keep(&mut self, bytes: &[u8]) -> Bytes {
        if self.block.capacity() - self.block.len() < bytes.len() {
            self.block = BytesMut::with_capacity(BLOCK.max(bytes.len()));
        }
        self.block.extend_from_slice(bytes);
        self.block.split().freeze()
    }
}

/// A group id no one else uses, for consumers that never join their group.
pub(super) fn throwaway_group() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("fust-peek-{}-{nanos}", std::process::id())
}

/// Runs a blocking librdkafka call on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))
}
