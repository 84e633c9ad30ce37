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

/// `{"id": i, "name": "n{i}", "amount": i * 1.5}` for each id.
pub fn records(ids: std::ops::Range<u64>) -> impl Iterator<Item = String> {
    ids.map(|i| {
        format!(
            r#"{{"id": {i}, "name": "n{i}", "amount": {}}}"#,
            i as f64 * 1.5
        )
    })
}
