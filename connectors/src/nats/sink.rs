//! The `nats` output: each record published to a JetStream subject as a JSON object or a
//! CSV line, every publish acknowledged by the server before the run succeeds.

use std::sync::Arc;

use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{OptionError, Pending, Published, Sink, SinkSummary};
use futures::StreamExt;

use super::client::{connect, external};
use super::config::NatsSinkConfig;
use crate::common::messages::MessageFormat;

/// Publishes awaited at once.
const IN_FLIGHT: usize = 1024;

pub(super) fn build_sink(c: NatsSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    if c.subject.trim().is_empty() {
        return Err(OptionError::new(
            "subject",
            "name the subject to publish to",
        ));
    }
    if c.format == MessageFormat::Raw {
        return Err(OptionError::new(
            "format",
            "the nats output writes `json` or `csv`",
        ));
    }
    Ok(Arc::new(NatsSink { config: c }))
}

#[derive(Debug)]
struct NatsSink {
    config: NatsSinkConfig,
}

impl NatsSink {
    fn target(&self) -> String {
        format!(
            "nats subject {} at {}",
            self.config.subject, self.config.url
        )
    }

    /// One message per row of `batch`.
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Vec<u8>>> {
        let mut text = Vec::new();
        match self.config.format {
            MessageFormat::Csv => {
                WriterBuilder::new()
                    .with_header(false)
                    .build(&mut text)
                    .write(batch)?;
            }
            _ => {
                let mut w = LineDelimitedWriter::new(&mut text);
                w.write(batch)?;
                w.finish()?;
            }
        }
        Ok(text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect())
    }
}

#[async_trait]
impl Sink for NatsSink {
    async fn prepare(
        &self,
        mut input: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let c = &self.config;
        let client = connect(&c.url, c.auth.as_ref(), c.tls, c.ca_file.as_deref()).await?;
        let js = jetstream::new(client);
        if let Some(name) = &c.stream {
            js.get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![c.subject.clone()],
                ..Default::default()
            })
            .await
            .map_err(|e| {
                external(format!(
                    "{}: cannot create stream {name}: {e}",
                    self.target()
                ))
            })?;
        }
        let (mut rows, mut bytes) = (0u64, 0u64);
        let mut acks = Vec::with_capacity(IN_FLIGHT);
        while let Some(batch) = input.next().await {
            for message in self.encode(&batch?)? {
                bytes += message.len() as u64;
                rows += 1;
                let ack = js
                    .publish(c.subject.clone(), message.into())
                    .await
                    .map_err(|e| external(format!("{}: publishing failed: {e}", self.target())))?;
                acks.push(ack);
                if acks.len() >= IN_FLIGHT {
                    self.confirm(&mut acks).await?;
                }
            }
        }
        self.confirm(&mut acks).await?;
        Ok(Box::new(Published(SinkSummary {
            rows,
            bytes,
            target: self.target(),
        })))
    }
}

impl NatsSink {
    /// Waits for the server to acknowledge every publish in `acks`.
    async fn confirm(&self, acks: &mut Vec<jetstream::context::PublishAckFuture>) -> Result<()> {
        for ack in acks.drain(..) {
            ack.await.map_err(|e| {
                DataFusionError::External(
                    format!(
                        "{}: the server did not store a message ({e}); is there a stream on this subject? (`stream:` creates one)",
                        self.target()
                    )
                    .into(),
                )
            })?;
        }
        Ok(())
    }
}
