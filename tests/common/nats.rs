//! JetStream for the stream tests: the NATS server `scripts/services` runs on
//! 127.0.0.1:4222 (`FUST_TEST_NATS_URL` points elsewhere), driven through async-nats on a
//! runtime of its own so tests stay plain functions.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// The NATS server with JetStream the tests use.
pub fn nats_url() -> String {
    std::env::var("FUST_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A JetStream context with a runtime to drive it.
pub struct Jet {
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
}

impl Jet {
    /// Connects; fails the test (never skips) when the server is not there.
    pub fn connect() -> Jet {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let url = nats_url();
        let client = rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(10), async_nats::connect(&url)).await
            })
            .unwrap_or_else(|_| {
                panic!("NATS at {url} did not answer in 10 s (scripts/services up starts it)")
            })
            .unwrap_or_else(|e| {
                panic!("cannot connect to NATS at {url} (scripts/services up starts it): {e}")
            });
        let js = {
            let _in_runtime = rt.enter();
            jetstream::new(client)
        };
        Jet { rt, js }
    }

    /// Deletes stream `name` if it is there.
    pub fn delete_stream(&self, name: &str) {
        self.rt.block_on(async {
            let _ = self.js.delete_stream(name).await;
        });
    }

    /// A fresh stream `name` on the subjects `name.>` (an old one of that name is deleted).
    pub fn fresh_stream(&self, name: &str) {
        self.delete_stream(name);
        self.rt.block_on(async {
            self.js
                .create_stream(stream::Config {
                    name: name.to_string(),
                    subjects: vec![format!("{name}.>")],
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
        });
    }

    /// Publishes each payload to `subject` and waits for the server's acknowledgements.
    pub fn publish(&self, subject: &str, payloads: impl IntoIterator<Item = String>) {
        self.rt.block_on(async {
            let mut acks = Vec::new();
            for p in payloads {
                let ack = self
                    .js
                    .publish(subject.to_string(), p.into())
                    .await
                    .unwrap_or_else(|e| panic!("publishing to {subject}: {e}"));
                acks.push(ack);
                if acks.len() >= 512 {
                    for a in acks.drain(..) {
                        a.await
                            .unwrap_or_else(|e| panic!("publish ack on {subject}: {e}"));
                    }
                }
            }
            for a in acks {
                a.await
                    .unwrap_or_else(|e| panic!("publish ack on {subject}: {e}"));
            }
        });
    }

    /// Publishes each payload to `subject` as fast as the server takes them: up to
    /// `in_flight` acknowledgements are outstanding, awaited oldest first, so a backlog of
    /// a million records goes in within seconds. Returns how many were published.
    pub fn publish_many(
        &self,
        subject: &str,
        payloads: impl IntoIterator<Item = String>,
        in_flight: usize,
    ) -> u64 {
        self.rt.block_on(async {
            let mut acks = std::collections::VecDeque::with_capacity(in_flight);
            let mut sent = 0;
            for p in payloads {
                if acks.len() >= in_flight.max(1)
                    && let Some(ack) = acks.pop_front()
                {
                    let ack: jetstream::context::PublishAckFuture = ack;
                    ack.await
                        .unwrap_or_else(|e| panic!("publish ack on {subject}: {e}"));
                }
                let ack = self
                    .js
                    .publish(subject.to_string(), p.into())
                    .await
                    .unwrap_or_else(|e| panic!("publishing to {subject}: {e}"));
                acks.push_back(ack);
                sent += 1;
            }
            for a in acks {
                a.await
                    .unwrap_or_else(|e| panic!("publish ack on {subject}: {e}"));
            }
            sent
        })
    }

    /// Where durable consumer `durable` of stream `name` is, `None` while it does not exist.
    pub fn consumer_progress(&self, name: &str, durable: &str) -> Option<ConsumerProgress> {
        self.rt.block_on(async {
            let stream = self.js.get_stream(name).await.ok()?;
            let mut consumer: jetstream::consumer::PullConsumer =
                stream.get_consumer(durable).await.ok()?;
            let info = consumer.info().await.ok()?;
            Some(ConsumerProgress {
                pending: info.num_pending,
                ack_pending: info.num_ack_pending as u64,
                delivered: info.delivered.stream_sequence,
            })
        })
    }

    /// Messages in stream `name`.
    pub fn count(&self, name: &str) -> u64 {
        self.rt.block_on(async {
            let mut s = self
                .js
                .get_stream(name)
                .await
                .unwrap_or_else(|e| panic!("stream {name}: {e}"));
            s.info()
                .await
                .unwrap_or_else(|e| panic!("stream {name} info: {e}"))
                .state
                .messages
        })
    }
}

/// A durable consumer's progress, as the server reports it.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerProgress {
    /// Messages not yet delivered to the consumer (the lag Fust shows, less its buffer).
    pub pending: u64,
    /// Messages delivered and not yet acknowledged.
    pub ack_pending: u64,
    /// The last stream sequence delivered.
    pub delivered: u64,
}

/// `{"id": i, "name": "n{i}", "amount": i * 1.5}` for each id.
pub fn records(ids: std::ops::Range<u64>) -> impl Iterator<Item = String> {
    ids.map(|i| {
        format!(
            r#"{{"id": {i}, "name": "n{i}", "amount": {}}}"#,
            i as f64 * 1.5
        )
    })
}
