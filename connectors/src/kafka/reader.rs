//! [`KafkaReader`]: the `kafka` input's stream reader. It hands out records after the
//! positions the output committed (dropping those at or below), keeps the epoch's first
//! and last offset per partition, commits the consumer group's offsets after each epoch
//! (for the usual lag tools; the positions that count are the output's), and rereads the
//! stored positions whenever its partitions change or an epoch is rolled back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use fust_engine::{Checkpoints, OpenMode, Span, StageRejects, StreamReader};
use rdkafka::Offset;
use rdkafka::consumer::{CommitMode, Consumer};

use super::fetch::Fetcher;
use super::group::TopicPart;
use crate::common::messages::MessageDecoder;

/// How long a lag reading is reused.
const LAG_FOR: Duration = Duration::from_secs(2);

/// An open `kafka` input.
pub(super) struct KafkaReader {
    fetch: Fetcher,
    decoder: MessageDecoder,
    checkpoints: Arc<dyn Checkpoints>,
    mode: OpenMode,
    /// Per partition, the position committed before this epoch.
    committed: HashMap<TopicPart, i64>,
    /// Per partition, the first and last offset handed out in this epoch.
    epoch: BTreeMap<TopicPart, (i64, i64)>,
    lag: Option<(Instant, Vec<(String, u64)>)>,
}

impl KafkaReader {
    pub fn new(
        fetch: Fetcher,
        decoder: MessageDecoder,
        checkpoints: Arc<dyn Checkpoints>,
        mode: OpenMode,
        committed: HashMap<TopicPart, i64>,
    ) -> Self {
        for (tp, pos) in &committed {
            fetch.tracker().set_next(tp, pos + 1);
        }
        Self {
            fetch,
            decoder,
            checkpoints,
            mode,
            committed,
            epoch: BTreeMap::new(),
            lag: None,
        }
    }

    /// The last offset taken from `tp`: handed out in this epoch or committed before.
    fn taken(&self, tp: &TopicPart) -> Option<i64> {
        self.epoch
            .get(tp)
            .map(|(_, last)| *last)
            .or_else(|| self.committed.get(tp).copied())
    }

    /// The stored positions of this reader's topics.
    async fn stored(&self) -> Result<HashMap<TopicPart, i64>> {
        let positions = self.checkpoints.load().await?;
        Ok(positions
            .0
            .iter()
            .filter_map(|(part, pos)| Some((TopicPart::parse(part, &self.fetch.topics)?, *pos)))
            .collect())
    }

    /// After the group changed this consumer's partitions: forgets the records of those it
    /// lost, and moves those it has after the positions stored now (another process may
    /// have read them meanwhile). A partition with records in this epoch keeps its
    /// `from`, so that the output's compare-and-set sees the conflict.
    async fn on_assignment(&mut self) -> Result<bool> {
        if !self.fetch.tracker().take_changed() {
            return Ok(false);
        }
        let assigned: HashSet<TopicPart> = self.fetch.assignment()?.into_iter().collect();
        self.fetch.buffer.retain(|(tp, _)| assigned.contains(tp));
        let stored = self.stored().await?;
        let mut seeks = Vec::new();
        for tp in assigned {
            if self.epoch.contains_key(&tp) {
                continue;
            }
            let Some(&pos) = stored.get(&tp) else {
                continue;
            };
            if self.committed.get(&tp) != Some(&pos) {
                self.committed.insert(tp.clone(), pos);
                self.fetch.tracker().set_next(&tp, pos + 1);
                seeks.push((tp, pos + 1));
            }
        }
        tracing::debug!(moved = seeks.len(), "Kafka assignment handled");
        self.fetch.seek(seeks).await?;
        Ok(true)
    }

    /// Fetches until `max` records are buffered (waiting at most `wait` for the first),
    /// dropping those taken already; whether the assignment changed meanwhile.
    async fn fill(&mut self, max: usize, wait: Duration) -> Result<bool> {
        let before = self.on_assignment().await?;
        // With records buffered, only those ready now are added.
        let wait = if self.fetch.buffer.is_empty() {
            wait
        } else {
            Duration::ZERO
        };
        let (epoch, committed) = (&self.epoch, &self.committed);
        let keep = |tp: &TopicPart, offset: i64| {
            let taken = epoch
                .get(tp)
                .map(|(_, last)| *last)
                .or_else(|| committed.get(tp).copied());
            taken.is_none_or(|t| offset > t)
        };
        self.fetch.fill(max, wait, keep).await?;
        Ok(self.on_assignment().await? || before)
    }

    /// Waits at most `wait` for the group to give this consumer its partitions, so that
    /// a run's clock (`stop_when_idle`) starts when it can read.
    pub async fn join(&mut self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if self.fill(1, Duration::from_millis(200)).await? {
                return Ok(());
            }
        }
        tracing::warn!(waited = ?wait, "The Kafka consumer group has not assigned partitions yet; reading once it does");
        Ok(())
    }
}

#[async_trait]
impl StreamReader for KafkaReader {
    fn schema(&self) -> SchemaRef {
        self.decoder.schema()
    }

    fn reading(&self) -> bool {
        self.fetch.assignment().map_or(true, |a| !a.is_empty())
    }

    async fn next_batch(
        &mut self,
        max_rows: usize,
        wait: Duration,
        rejects: &StageRejects,
    ) -> Result<Option<RecordBatch>> {
        self.fill(max_rows, wait).await?;
        let mut out = Vec::with_capacity(max_rows.min(self.fetch.buffer.len()));
        let mut touched = HashMap::new();
        while out.len() < max_rows {
            let Some((tp, m)) = self.fetch.buffer.pop_front() else {
                break;
            };
            // A record fetched again (after a rebalance or a seek) was taken already.
            if self.taken(&tp).is_some_and(|t| m.position <= t) {
                continue;
            }
            self.epoch
                .entry(tp.clone())
                .and_modify(|(_, last)| *last = m.position)
                .or_insert((m.position, m.position));
            touched.insert(tp, m.position);
            out.push(m);
        }
        for (tp, last) in touched {
            self.fetch.tracker().set_next(&tp, last + 1);
        }
        if out.is_empty() {
            return Ok(None);
        }
        self.decoder.decode(&out, rejects).await.map(Some)
    }

    async fn ready(&mut self, wait: Duration) -> Result<bool> {
        if self.fetch.buffer.is_empty() {
            self.fill(1, wait).await?;
        }
        Ok(!self.fetch.buffer.is_empty())
    }

    fn epoch(&self) -> Vec<Span> {
        self.epoch
            .iter()
            .map(|(tp, (_, last))| Span {
                part: tp.to_string(),
                from: self.committed.get(tp).copied(),
                to: *last,
            })
            .collect()
    }

    async fn committed(&mut self) -> Result<()> {
        let epoch = std::mem::take(&mut self.epoch);
        self.lag = None;
        self.lag = None;
        for (tp, (_, last)) in &epoch {
            self.committed.insert(tp.clone(), *last);
        }
        if self.mode == OpenMode::Run && !epoch.is_empty() {
            let offsets = epoch
                .into_iter()
                .map(|(tp, (_, last))| (tp, Offset::Offset(last + 1)));
            // Only for the lag tools: the positions that count are the output's.
            if let Err(e) = self
                .fetch
                .consumer
                .commit(&TopicPart::list(offsets), CommitMode::Async)
            {
                tracing::warn!(error = %e, "Committing the Kafka group offsets failed");
            }
        }
        Ok(())
    }

    async fn rewind(&mut self) -> Result<()> {
        let stored = self.stored().await?;
        let assigned = self.fetch.assignment()?;
        let mut buffered: HashMap<TopicPart, i64> = HashMap::new();
        for (tp, m) in &self.fetch.buffer {
            buffered.entry(tp.clone()).or_insert(m.position);
        }
        self.fetch.buffer.clear();
        let mut seeks = Vec::new();
        for tp in assigned {
            let pos = stored.get(&tp).copied();
            let target = pos
                .map(|p| p + 1)
                .or_else(|| self.epoch.get(&tp).map(|(first, _)| *first))
                .or_else(|| buffered.get(&tp).copied());
            match pos {
                Some(p) => self.committed.insert(tp.clone(), p),
                None => self.committed.remove(&tp),
            };
            if let Some(t) = target {
                self.fetch.tracker().set_next(&tp, t);
                seeks.push((tp, t));
            }
        }
        self.epoch.clear();
        tracing::info!(
            partitions = seeks.len(),
            "Kafka input rewound to the stored positions"
        );
        self.fetch.seek(seeks).await
    }

    async fn lag(&mut self) -> Vec<(String, u64)> {
        if let Some((at, lag)) = &self.lag
            && at.elapsed() < LAG_FOR
        {
            return lag.clone();
        }
        let parts = self.fetch.assignment().unwrap_or_default();
        let marks = self.fetch.watermarks(parts).await;
        let lag: Vec<(String, u64)> = marks
            .into_iter()
            .map(|(tp, low, high)| {
                let next = self.taken(&tp).map_or(low, |t| t + 1);
                (tp.to_string(), (high - next).max(0) as u64)
            })
            .collect();
        self.lag = Some((Instant::now(), lag.clone()));
        lag
    }
}
