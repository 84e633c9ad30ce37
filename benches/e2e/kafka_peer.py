"""The Python side of the Kafka benchmark (benches/e2e/kafka.sh).

  topic   BROKERS NAME PARTITIONS          create a topic, wait until every partition shows
  peer    BROKERS TOPIC GROUP RECORDS (--parquet DIR | --postgres DSN TABLE)
          the Python peer: confluent-kafka (librdkafka) in a consumer group, each batch of
          records (1 s or 500,000 records) parsed by pyarrow's JSON reader and written as one
          Parquet file (temporary name, then renamed) or COPYed into PostgreSQL in one
          transaction; the group's offsets committed after each batch (at least once)
  steady  BROKERS TOPIC RATE SECONDS LOG   publish RATE records/s for SECONDS, each
          {"id", "pub_ms", "payload"}; LOG gets "partition,offset,pub_ms" per delivered record
  watch   DSN JOB SECONDS LOG              poll Fust's fust_stream_positions every 10 ms;
          LOG gets "part,position,seen_ms" each time a part's committed position moves
  latency PRODUCED WATCHED SKIP            publish -> committed latency of each record
          (committed: the first poll that saw its partition's position at or past its offset),
          leaving out the first SKIP seconds of publishing (the consumer group's join)
"""

import io
import json
import os
import sys
import time

def lineitem_schema():
    import pyarrow as pa

    dec = pa.decimal128(15, 2)
    cols = [
        ("l_orderkey", pa.int64()), ("l_partkey", pa.int64()), ("l_suppkey", pa.int64()),
        ("l_linenumber", pa.int32()), ("l_quantity", dec), ("l_extendedprice", dec),
        ("l_discount", dec), ("l_tax", dec), ("l_returnflag", pa.string()),
        ("l_linestatus", pa.string()), ("l_shipdate", pa.date32()), ("l_commitdate", pa.date32()),
        ("l_receiptdate", pa.date32()), ("l_shipinstruct", pa.string()),
        ("l_shipmode", pa.string()), ("l_comment", pa.string()),
    ]
    return pa.schema(cols)


def create_topic(brokers, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    for fut in admin.create_topics([NewTopic(name, int(partitions), 1)]).values():
        fut.result(30)
    deadline = time.time() + 30
    while time.time() < deadline:
        t = admin.list_topics(name, timeout=5).topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == int(partitions):
            return
        time.sleep(0.2)
    sys.exit(f"topic {name}: {partitions} partitions did not show within 30 s")


def peer(brokers, topic, group, records, sink):
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq
    from confluent_kafka import Consumer

    schema = lineitem_schema()
    # pyarrow's JSON reader takes no date from a string: read dates as strings, then cast
    as_read = pa.schema([pa.field(f.name, pa.string()) if f.type == pa.date32() else f for f in schema])
    parse = pajson.ParseOptions(explicit_schema=as_read, unexpected_field_behavior="ignore")
    consumer = Consumer({
        "bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
        "max.poll.interval.ms": 6000, "heartbeat.interval.ms": 1000,
        "fetch.queue.backoff.ms": 10,  # as Fust's consumer (docs/kafka.md)
    })
    consumer.subscribe([topic])
    db = None
    if sink[0] == "--postgres":
        db = psycopg.connect(sink[1])
    want, got, part = int(records), 0, 0
    started = time.time()
    while got < want:
        payloads, batch_start = [], time.time()
        while len(payloads) < 500_000 and time.time() - batch_start < 1.0 and got + len(payloads) < want:
            for m in consumer.consume(num_messages=10_000, timeout=0.1):
                if m.error():
                    sys.exit(f"kafka: {m.error()}")
                payloads.append(m.value())
        if not payloads:
            continue
        table = pajson.read_json(io.BytesIO(b"\n".join(payloads)), parse_options=parse).cast(schema)
        if db is None:
            final = os.path.join(sink[1], f"part-{part:06}.parquet")
            pq.write_table(table, final + ".tmp", compression="snappy")
            os.rename(final + ".tmp", final)
        else:
            buf = io.BytesIO()
            pacsv.write_csv(table, buf)
            with db.cursor() as cur, cur.copy(f"COPY {sink[2]} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(buf.getbuffer())
            db.commit()
        consumer.commit(asynchronous=False)
        got += len(payloads)
        part += 1
    consumer.close()
    print(json.dumps({"records": got, "files_or_transactions": part,
                      "seconds": round(time.time() - started, 3)}))


def steady(brokers, topic, rate, seconds, log):
    from confluent_kafka import Producer

    rate, seconds = int(rate), float(seconds)
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 5, "enable.idempotence": True})
    delivered = []

    def on_delivery(err, msg):
        if err is not None:
            sys.exit(f"delivery failed: {err}")
        # the value starts with {"id": N, "pub_ms": MS, ...}: MS is what is kept
        pub_ms = int(msg.value().split(b'"pub_ms": ', 1)[1].split(b",", 1)[0])
        delivered.append((msg.partition(), msg.offset(), pub_ms))

    payload = "x" * 100
    start = time.time()
    sent = 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while sent < due:
            value = f'{{"id": {sent}, "pub_ms": {int(time.time() * 1000)}, "payload": "{payload}"}}'
            producer.produce(topic, value.encode(), key=str(sent).encode(), on_delivery=on_delivery)
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    producer.flush(30)
    with open(log, "w") as f:
        f.writelines(f"{p},{o},{ms}\n" for p, o, ms in delivered)
    print(json.dumps({"sent": sent, "delivered": len(delivered), "seconds": round(time.time() - start, 3)}))


def watch(dsn, job, seconds, log):
    import psycopg

    db = psycopg.connect(dsn, autocommit=True)
    seen, rows = {}, []
    end = time.time() + float(seconds)
    while time.time() < end:
        now = int(time.time() * 1000)
        try:
            cur = db.execute("SELECT part, position FROM fust_stream_positions WHERE job = %s", (job,))
        except psycopg.errors.UndefinedTable:
            time.sleep(0.01)
            continue
        for part, position in cur.fetchall():
            if seen.get(part) != position:
                seen[part] = position
                rows.append(f"{part},{position},{now}\n")
        time.sleep(0.01)
    with open(log, "w") as f:
        f.writelines(rows)


def latency(produced, watched, skip):
    import bisect

    commits = {}  # partition -> [(position, seen_ms)] in the order seen
    for line in open(watched):
        part, position, seen = line.strip().rsplit(",", 2)
        commits.setdefault(int(part.rsplit("/", 1)[1]), []).append((int(position), int(seen)))
    pubs = [tuple(map(int, line.split(","))) for line in open(produced)]
    first = min(ms for _, _, ms in pubs) + float(skip) * 1000
    lat, missing = [], 0
    for p, o, ms in pubs:
        if ms < first:
            continue
        c = commits.get(p, [])
        i = bisect.bisect_left([pos for pos, _ in c], o)
        if i == len(c):
            missing += 1
            continue
        lat.append(c[i][1] - ms)
    lat.sort()
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]  # noqa: E731
    print(json.dumps({"records": len(lat), "not_committed": missing, "p50_ms": q(0.5),
                      "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": lat[-1]}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "topic":
        create_topic(*args)
    elif cmd == "peer":
        peer(*args[:4], args[4:])
    elif cmd == "steady":
        steady(*args)
    elif cmd == "watch":
        watch(*args)
    elif cmd == "latency":
        latency(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
