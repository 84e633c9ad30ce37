//! The consumer group side of the `kafka` input: [`TopicPart`], how it names a partition,
//! and [`Tracker`], the consumer's context, which starts each partition it is assigned
//! right after what the reader took from it and flags the change for the reader.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

/// A partition of a topic; shown as the stream's part name, `orders/3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TopicPart {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl fmt::Display for TopicPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

impl TopicPart {
    /// The partition a part name gives, when it is one of `topics`.
    pub fn parse(part: &str, topics: &[Arc<str>]) -> Option<TopicPart> {
        let (topic, partition) = part.rsplit_once('/')?;
        let topic = topics.iter().find(|t| t.as_ref() == topic)?;
        Some(TopicPart {
            topic: topic.clone(),
            partition: partition.parse().ok()?,
        })
    }

    /// A list holding these partitions at these offsets.
    pub fn list(parts: impl IntoIterator<Item = (TopicPart, Offset)>) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in parts {
            // Only fails for an offset librdkafka cannot represent, which `Offset` cannot hold.
            let _ = tpl.add_partition_offset(&tp.topic, tp.partition, offset);
        }
        tpl
    }
}

/// The consumer's context. librdkafka calls [`rebalance`](ConsumerContext::rebalance)
/// inside `recv`, synchronously: it assigns each partition at the next offset the reader
/// means to take (so the group's committed offset, which may lag behind the positions an
/// exactly-once output stored, or be missing, does not decide), and flags the change; the
/// reader reloads the stored positions in its next call.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// The next offset to take per partition, where the reader knows it.
    next: Mutex<HashMap<(String, i32), i64>>,
    changed: AtomicBool,
}

impl Tracker {
    /// The reader will take `tp` from `offset` on.
    pub fn set_next(&self, tp: &TopicPart, offset: i64) {
        if let Ok(mut next) = self.next.lock() {
            next.insert((tp.topic.to_string(), tp.partition), offset);
        }
    }

    /// Whether the assignment changed since the last call.
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::SeqCst)
    }

    /// Whether the assignment changed and the reader has not handled it yet.
    pub fn changed(&self) -> bool {
        self.changed.load(Ordering::SeqCst)
    }

    /// Sets the offsets of the partitions `tpl` assigns from what the reader took.
    fn start_at_next(&self, tpl: &mut TopicPartitionList) {
        let Ok(next) = self.next.lock() else { return };
        let parts: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        for key in parts {
            if let Some(&offset) = next.get(&key) {
                let _ = tpl.set_partition_offset(&key.0, key.1, Offset::Offset(offset));
            }
        }
    }
}

impl ClientContext for Tracker {}

impl ConsumerContext for Tracker {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let done = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.start_at_next(tpl);
                tracing::info!(partitions = tpl.count(), "Kafka partitions assigned");
                match cooperative {
                    true => consumer.incremental_assign(tpl),
                    false => consumer.assign(tpl),
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "Kafka partitions revoked");
                match cooperative {
                    true => consumer.incremental_unassign(tpl),
                    false => consumer.unassign(),
                }
            }
            other => {
                tracing::warn!(error = ?other, "Kafka rebalance failed");
                consumer.unassign()
            }
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "Kafka assignment failed");
        }
        self.changed.store(true, Ordering::SeqCst);
    }
}
