//! The `kafka` output: an idempotent producer (made once, with the topic checked) sends
//! every row as a record and `prepare` awaits every delivery. Records are visible as they
//! are delivered, so it returns them as [`Published`]: at-least-once (a failed or rerun
//! job sends again what was delivered).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::Array;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{OptionError, Pending, Published, Sink, SinkSummary};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::OnceCell;

use super::client::{Client, METADATA_TIMEOUT};
use super::config::KafkaSinkConfig;
use super::encode::{RecordKey, Values};

/// Records sent and not yet acknowledged, at most (the producer's queue bounds bytes too).
const MAX_IN_FLIGHT: usize = 50_000;

pub(super) struct KafkaSink {
    config: KafkaSinkConfig,
    client: Client,
    /// Made by the first `prepare` (a stream job's epochs share it).
    producer: OnceCell<FutureProducer>,
}

pub(super) fn build_sink(config: KafkaSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    let client = Client::from_options(config.client())?;
    if config.topic.trim().is_empty() {
        return Err(OptionError::new("topic", "give the topic to write to"));
    }
    if config.key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        return Err(OptionError::new(
            "key",
            "give a column or a SQL expression, or leave `key` out",
        ));
    }
    let timeout = config.delivery_timeout.0;
    if timeout.is_zero() || timeout.as_secs() > 3600 {
        return Err(OptionError::new(
            "delivery_timeout",
            "use more than 0, up to 1h",
        ));
    }
    Ok(Arc::new(KafkaSink {
        config,
        client,
        producer: OnceCell::new(),
    }))
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    fn what(&self) -> String {
        format!("topic `{}`", self.config.topic)
    }

    /// The producer, made and the topic checked on first use.
    async fn producer(&self) -> Result<&FutureProducer> {
        self.producer
            .get_or_try_init(|| async {
                self.client.check_egress().await?;
                let timeout = self.config.delivery_timeout.0.as_millis().to_string();
                let defaults = [
                    ("enable.idempotence", "true"),
                    ("compression.codec", self.config.compression.codec()),
                    ("message.timeout.ms", timeout.as_str()),
                ];
                let producer: FutureProducer =
                    self.client.config(&defaults).create().map_err(|e| {
                        self.client.error(
                            &self.what(),
                            "creating a producer (check `properties` and the security options)",
                            e,
                        )
                    })?;
                let (p, topic) = (producer.clone(), self.config.topic.clone());
                let metadata = tokio::task::spawn_blocking(move || {
                    p.client().fetch_metadata(Some(&topic), METADATA_TIMEOUT)
                })
                .await
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                self.client.partitions(&self.config.topic, metadata)?;
                Ok(producer)
            })
            .await
    }

    /// Waits for one delivery: an error naming the topic when it failed.
    async fn delivered(&self, inflight: &mut FuturesUnordered<DeliveryFuture>) -> Result<()> {
        let Some(done) = inflight.next().await else {
            return Ok(());
        };
        let failed = match done {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err((e, _))) => e.to_string(),
            Err(_) => "the producer was closed before the record was acknowledged".into(),
        };
        Err(self
            .client
            .error(&self.what(), "delivering a record", failed))
    }
}

#[async_trait]
impl Sink for KafkaSink {
    async fn prepare(
        &self,
        mut stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let producer = self.producer().await?;
        let c = &self.config;
        let key = match &c.key {
            Some(k) => Some(RecordKey::compile(k, &stream.schema(), ctx)?),
            None => None,
        };
        let mut inflight = FuturesUnordered::new();
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let values = Values::encode(&batch, c.format)?;
            let keys = key.as_ref().map(|k| k.evaluate(&batch)).transpose()?;
            for (i, range) in values.rows.iter().enumerate() {
                let payload = &values.text[range.clone()];
                let mut record = FutureRecord::<[u8], [u8]>::to(&c.topic).payload(payload);
                if let Some(k) = keys.as_ref().filter(|k| k.is_valid(i)) {
                    record = record.key(k.value(i));
                }
                loop {
                    match producer.send_result(record) {
                        Ok(delivery) => {
                            inflight.push(delivery);
                            break;
                        }
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            if inflight.is_empty() {
                                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            }
                            self.delivered(&mut inflight).await?;
                        }
                        Err((e, _)) => {
                            return Err(self.client.error(&self.what(), "sending a record", e));
                        }
                    }
                }
                rows += 1;
                bytes += payload.len() as u64;
                while inflight.len() >= MAX_IN_FLIGHT {
                    self.delivered(&mut inflight).await?;
                }
            }
        }
        while !inflight.is_empty() {
            self.delivered(&mut inflight).await?;
        }
        Ok(Box::new(Published(SinkSummary {
            rows,
            bytes,
            target: format!("kafka {} topic {}", self.client.brokers, c.topic),
        })))
    }
}
