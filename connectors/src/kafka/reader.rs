//! [`KafkaReader`]: the `kafka` input's stream reader. It hands out records after the
//! positions the output committed (dropping those at or below), keeps the epoch's first
//! and last offset per partition, commits the consumer group's offsets after each epoch
//! (for the usual lag tools; the positions that count are the output's), and rereads the
//! stored positions whenever its partitions change or an epoch is rolled back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use fust_engine::{Checkpoints, OpenMode, Span, StageRejects, StreamReader, Taken};
use rdkafka::Offset;
use rdkafka::consumer::{CommitMode, Consumer};
use tokio::task::JoinHandle;

use super::fetch::{Fetcher, Watermarks};
use super::group::TopicPart;
use crate::common::messages::{MessageDecoder, StartFrom};

/// How old the watermarks the lag is computed from may get before they are read again.
const LAG_FOR: Duration = Duration::from_secs(1);
/// How long the probe of the partitions other members hold waits for a record.
const PROBE_WAIT: Duration = Duration::from_secs(2);
/// At most this many records are taken by the probe.
const PROBE_RECORDS: usize = 1000;

/// The last offset taken from `tp`: handed out in the epoch or committed before.
fn last_taken(
    epoch: &BTreeMap<TopicPart, (i64, i64)>,
    committed: &HashMap<TopicPart, i64>,
    tp: &TopicPart,
) -> Option<i64> {
    epoch
        .get(tp)
        .map(|(_, last)| *last)
        .or_else(|| committed.get(tp).copied())
}

/// Records of one partition next to each other in the buffer, being handed out.
struct Run {
    tp: TopicPart,
    /// The last offset taken from it.
    taken: Option<i64>,
    /// The first offset handed out in this run.
    first: Option<i64>,
}

/// An open `kafka` input.
pub(super) struct KafkaReader {
    fetch: Fetcher,
    decoder: MessageDecoder,
    checkpoints: Arc<dyn Checkpoints>,
    mode: OpenMode,
    /// Where a partition without a stored position is read from.
    start: StartFrom,
    /// Per partition, the position committed before this epoch.
    committed: HashMap<TopicPart, i64>,
    /// Per partition, the first and last offset handed out in this epoch.
    epoch: BTreeMap<TopicPart, (i64, i64)>,
    /// The partitions' watermarks, when they were read, and a reading under way: the lag
    /// is read in the background, never holding up an epoch.
    marks: Watermarks,
    marks_at: Option<Instant>,
    reading: Option<JoinHandle<Watermarks>>,
    /// A consumer outside the group, made when first needed, that looks for records after
    /// the stored positions of the partitions other members hold.
    probe: Option<Fetcher>,
}

impl KafkaReader {
    pub fn new(
        fetch: Fetcher,
        decoder: MessageDecoder,
        checkpoints: Arc<dyn Checkpoints>,
        mode: OpenMode,
        start: StartFrom,
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
            start,
            committed,
            epoch: BTreeMap::new(),
            marks: Vec::new(),
            marks_at: None,
            reading: None,
            probe: None,
        }
    }

    /// The last offset taken from `tp`: handed out in this epoch or committed before.
    fn taken(&self, tp: &TopicPart) -> Option<i64> {
        last_taken(&self.epoch, &self.committed, tp)
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
        self.fetch
            .fill(max, wait, |tp| last_taken(epoch, committed, tp))
            .await?;
        Ok(self.on_assignment().await? || before)
    }

    /// Adds a run of records handed out to the epoch's span of its partition.
    fn close_run(&mut self, run: Run) {
        let (Some(first), Some(last)) = (run.first, run.taken) else {
            return;
        };
        self.fetch.tracker().set_next(&run.tp, last + 1);
        self.epoch
            .entry(run.tp)
            .and_modify(|(_, l)| *l = last)
            .or_insert((first, last));
    }

    /// The watermarks of a reading that has finished.
    async fn take_marks(&mut self) {
        if let Some(reading) = self.reading.take_if(|r| r.is_finished()) {
            self.marks = reading.await.unwrap_or_default();
            self.marks_at = Some(Instant::now());
        }
    }

    /// The lag per partition from the last watermarks and the offsets taken now.
    fn lag_now(&self) -> Vec<(String, u64)> {
        self.marks
            .iter()
            .map(|(tp, low, high)| {
                let next = self.taken(tp).map_or(*low, |t| t + 1);
                (tp.to_string(), (high - next).max(0) as u64)
            })
            .collect()
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
    ) -> Result<Option<Taken>> {
        self.fill(max_rows, wait).await?;
        let mut out = Vec::with_capacity(max_rows.min(self.fetch.buffer.len()));
        // The buffer comes in runs of one partition's records: each run's partition is
        // looked up once, and its span updated at its end.
        let mut run: Option<Run> = None;
        while out.len() < max_rows {
            let Some((tp, m)) = self.fetch.buffer.pop_front() else {
                break;
            };
            if run.as_ref().is_none_or(|r| r.tp != tp) {
                if let Some(done) = run.take() {
                    self.close_run(done);
                }
                run = Some(Run {
                    taken: self.taken(&tp),
                    tp,
                    first: None,
                });
            }
            let Some(r) = run.as_mut() else { break };
            // A record fetched again (after a rebalance or a seek) was taken already.
            if r.taken.is_some_and(|t| m.position <= t) {
                continue;
            }
            r.first.get_or_insert(m.position);
            r.taken = Some(m.position);
            out.push(m);
        }
        if let Some(done) = run {
            self.close_run(done);
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.decoder.taken(out, rejects)))
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

    /// In the partitions of the topics that this consumer is not assigned, the records
    /// after the positions stored now, as far as a probe outside the group finds them in
    /// one fetch. The brokers' watermarks are not trusted for it: tansu answers the latest
    /// offset with the last batch's first offset + 1.
    async fn waiting_elsewhere(&mut self) -> Result<u64> {
        if self.mode != OpenMode::Run {
            return Ok(0);
        }
        let held: HashSet<TopicPart> = self.fetch.assignment()?.into_iter().collect();
        let mut others = self.fetch.partitions().await?;
        others.retain(|tp| !held.contains(tp));
        if others.is_empty() {
            return Ok(0);
        }
        let stored = self.stored().await?;
        let starts: Vec<(TopicPart, Offset)> = others
            .into_iter()
            .filter_map(|tp| {
                let start = match (stored.get(&tp), self.start) {
                    (Some(pos), _) => Offset::Offset(pos + 1),
                    (None, StartFrom::Earliest) => Offset::Beginning,
                    // Its reader will start at the end.
                    (None, StartFrom::Latest) => return None,
                };
                Some((tp, start))
            })
            .collect();
        if starts.is_empty() {
            return Ok(0);
        }
        let probe = match &mut self.probe {
            Some(probe) => probe,
            None => self.probe.insert(self.fetch.probe()?),
        };
        probe.buffer.clear();
        probe.assign(starts)?;
        probe.fill(PROBE_RECORDS, PROBE_WAIT, |_| None).await?;
        let found = probe.buffer.len() as u64;
        probe.buffer.clear();
        Ok(found)
    }

    /// From the last watermarks read (at most [`LAG_FOR`] old, give or take a reading)
    /// and the offsets taken now; a new reading starts when they are older.
    async fn lag(&mut self) -> Vec<(String, u64)> {
        self.take_marks().await;
        if self.reading.is_none() && self.marks_at.is_none_or(|at| at.elapsed() >= LAG_FOR) {
            let parts = self.fetch.assignment().unwrap_or_default();
            self.reading = Some(self.fetch.watermarks_task(parts));
        }
        self.lag_now()
    }

    /// Without a new reading: one started now, after the topic is drained, waits behind
    /// the consumer's long polls, and the process would wait for it (up to 2 s) to exit.
    async fn final_lag(&mut self) -> Vec<(String, u64)> {
        self.take_marks().await;
        self.lag_now()
    }
}
