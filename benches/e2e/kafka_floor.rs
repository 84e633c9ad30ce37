//! The floor of the Kafka benchmark (benches/e2e/kafka.sh): a consumer that only counts
//! records, with the client library and consumer settings Fust's `kafka` input uses
//! (rdkafka's `StreamConsumer`, a consumer group, no auto commit). No record is decoded
//! or written, so nothing a Kafka reader does can go faster through this library.
//!
//! usage: kafka_floor BROKERS TOPIC GROUP RECORDS [PROPERTY=VALUE ...]
//! prints one JSON line: records, bytes, seconds (from start, the group join included)
//! and seconds_after_first (from the first record).

use std::time::Instant;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic, group, records, properties @ ..] = args.as_slice() else {
        return Err("usage: kafka_floor BROKERS TOPIC GROUP RECORDS [PROPERTY=VALUE ...]".into());
    };
    let want: u64 = records.parse()?;
    let started = Instant::now();
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "fust-floor")
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest");
    for p in properties {
        let (k, v) = p.split_once('=').ok_or("a property is KEY=VALUE")?;
        config.set(k, v);
    }
    let consumer: StreamConsumer = config.create()?;
    consumer.subscribe(&[topic.as_str()])?;
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut first = None;
    while count < want {
        let m = consumer.recv().await?;
        first.get_or_insert_with(Instant::now);
        bytes += m.payload().map_or(0, <[u8]>::len) as u64;
        count += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let after_first = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    println!(
        "{{\"records\": {count}, \"bytes\": {bytes}, \"seconds\": {seconds:.3}, \"seconds_after_first\": {after_first:.3}}}"
    );
    Ok(())
}
