#!/usr/bin/env bash
# End-to-end benchmark: Fust vs. the peer baseline (DuckDB, Polars, DataFusion-python, pyarrow) on
# workloads W1 (csv -> filter+rename -> parquet), W2 (parquet -> TPC-H Q1 -> csv), W3 (postgres ->
# parquet), W4 (parquet -> postgres), W5 (csv -> csv),
# in the SAME harness run as the peers, so that ratios are comparable. See README.md beside this file.
#
# usage: benches/e2e/run.sh [SF=1] [RUNS=3]
# env:   WARMUP=1            warmup runs per case
#        ONLY=W1,W2,W5       workloads (W1..W5; W3/W4 need the PostgreSQL `bench` database of
#                            ../shared/bench/setup.sh)
#        PEERS=...           restrict peers (include `fust` to keep Fust), passed to the harness
#        BENCH_DATA=/tmp/benchdata   data, outputs, results (never inside the repo)
#        BENCH_DIR=<repo>/../shared/bench   the peer benchmark (harness.py, run_peers.sh, peers/)
#        CARGO_TARGET_DIR=$HOME/.cache/fust-target
#        SKIP_BUILD=1        do not run cargo build (use the existing binary)
#        FUST_BIN=path       use this fust binary instead of $CARGO_TARGET_DIR/release/fust
#        RUNNER=auto|run_peers|harness   auto: run_peers.sh when its PostgreSQL/venv prerequisites
#                            hold, else harness.py + report.py directly (same result files)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$REPO/../shared/bench}
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
export BENCH_DATA=${BENCH_DATA:-/tmp/benchdata}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fust-target}
export PY=${PY:-$(command -v python3)}
export PY_DUCK14=${PY_DUCK14:-/tmp/bench-venv-duck14/bin/python}
export PGURI=${PGURI:-postgresql://postgres@127.0.0.1:5432/bench}
SF=${1:-1}; RUNS=${2:-3}; WARMUP=${WARMUP:-1}
ONLY=${ONLY:-W1,W2,W5}
RUNNER=${RUNNER:-auto}

for f in harness.py report.py run_peers.sh peers/q1.sql; do
  [ -e "$BENCH_DIR/$f" ] || { echo "error: $BENCH_DIR/$f not found (set BENCH_DIR)" >&2; exit 1; }
done

# ---- 1. build fust
if [ -n "${FUST_BIN:-}" ]; then
  FUST=$FUST_BIN
else
  FUST=$CARGO_TARGET_DIR/release/fust
  if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$REPO" && cargo build --release --bin fust)
  fi
fi
[ -x "$FUST" ] || { echo "error: fust binary $FUST not found" >&2; exit 1; }
FUST=$(cd "$(dirname "$FUST")" && pwd)/$(basename "$FUST")

# ---- 2. data: TPC-H lineitem CSV + SNAPPY Parquet, same commands as shared/bench/data.sh
TPCHGEN=${TPCHGEN:-$(command -v tpchgen-cli || echo "$HOME/.cargo/bin/tpchgen-cli")}
gen() {  # gen SF
  local D="$BENCH_DATA/sf$1"
  mkdir -p "$D"
  for FMT in csv parquet; do
    if [ ! -s "$D/lineitem.$FMT" ]; then
      if [ ! -x "$TPCHGEN" ]; then
        echo "== installing tpchgen-cli 4.0.0 (cargo install, ~10 min on 2 cores)"
        CARGO_TARGET_DIR=/tmp/bench-target cargo install --locked tpchgen-cli --version 4.0.0
        TPCHGEN=$HOME/.cargo/bin/tpchgen-cli
      fi
      echo "== generating lineitem SF$1 $FMT -> $D"
      EXTRA=""; [ "$FMT" = parquet ] && EXTRA="--compression=SNAPPY"
      "$TPCHGEN" "$FMT" --scale-factor "$1" --tables lineitem $EXTRA --output-dir "$D"
    fi
  done
}
gen "$SF"
chmod -R a+rX "$BENCH_DATA/sf$SF"
CSV=$BENCH_DATA/sf$SF/lineitem.csv
PARQUET=$BENCH_DATA/sf$SF/lineitem.parquet

# ---- 3. job files + engine cases. The harness deletes and verifies {out} = $BENCH_DATA/out/sf$SF/<w>_<peer>.<ext>
# but substitutes placeholders only in the command line, so each job file names that exact path.
JOBS=$BENCH_DATA/fust/sf$SF
OUT=$BENCH_DATA/out/sf$SF
mkdir -p "$JOBS" "$OUT"
CASES=$JOBS/engine_cases.json
"$PY" - "$JOBS" "$OUT" "$CSV" "$PARQUET" "$BENCH_DIR/peers/q1.sql" "$FUST" "$CASES" "$SF" <<'EOF'
import json, os, re, sys
jobs, out, csv, parquet, q1_path, fust, cases_path, sf = sys.argv[1:]
q = lambda s: json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar
# TPC-H Q1 exactly as the peers run it (peers/q1.sql), reading Fust's main input table `input`.
q1 = open(q1_path).read().strip()
q1, n = re.subn(r"\bFROM\s+lineitem\b", "FROM input", q1, flags=re.I)
assert n == 1, "could not find 'FROM lineitem' in q1.sql"
q1_block = "\n".join("          " + line for line in q1.splitlines())
jobs_yaml = {
    "w1": ("parquet", f"""name: w1_csv_filter_rename_parquet
input: {{type: csv, path: {q(csv)}, has_header: true}}
pipeline:
  processors:
    - {{type: filter, condition: "l_quantity > 10"}}
    - {{type: mapping, field_mappings: {{l_orderkey: order_id}}}}
output: {{type: parquet, path: {q(f"{out}/w1_fust.parquet")}, compression: snappy}}
"""),
    "w2": ("csv", f"""name: w2_parquet_tpch_q1_csv
input: {{type: parquet, path: {q(parquet)}}}
pipeline:
  processors:
    - type: sql
      query: |
{q1_block}
output: {{type: csv, path: {q(f"{out}/w2_fust.csv")}, write_header: true}}
"""),
    "w5": ("csv", f"""name: w5_csv_passthrough_csv
input: {{type: csv, path: {q(csv)}, has_header: true}}
output: {{type: csv, path: {q(f"{out}/w5_fust.csv")}, write_header: true}}
"""),
}
# W3/W4: the harness's PostgreSQL database and table names (harness.build_cases).
pguri = os.environ["PGURI"]
sf_tag = sf.replace(".", "_")
pgtab = "lineitem" if sf == "1" else f"lineitem_sf{sf_tag}"
jobs_yaml["w3"] = ("parquet", f"""name: w3_postgres_parquet
input: {{type: postgres, url: {q(pguri)}, table: {pgtab}, partitions: 2}}
output: {{type: parquet, path: {q(f"{out}/w3_fust.parquet")}, compression: snappy}}
""")
jobs_yaml["w4"] = ("parquet", f"""name: w4_parquet_postgres
input: {{type: parquet, path: {q(parquet)}}}
output: {{type: postgres, url: {q(pguri)}, table: w4_fust_sf{sf_tag}, write_mode: append}}
""")
cases = []
for w, (ext, text) in jobs_yaml.items():
    jf = f"{jobs}/{w}.yaml"
    open(jf, "w").write(text)
    case = {"workload": w.upper(), "peer": "fust", "cmd": [fust, "run", "--quiet", jf], "ext": ext}
    if w == "w4":
        case = {"workload": "W4", "peer": "fust", "cmd": case["cmd"], "input": "parquet"}
    cases.append(case)
json.dump(cases, open(cases_path, "w"), indent=2)
EOF

# Check that each job writes exactly where the harness will look (same formula as harness.build_cases).
BENCH_EXTRA=$CASES "$PY" - "$BENCH_DIR" "$SF" "$JOBS" <<'EOF'
import os, sys
bench, sf, jobs = sys.argv[1:]
sys.path.insert(0, bench)
import harness
for c in harness.build_cases(sf):
    if c["peer"] == "fust" and c["workload"] in ("W1", "W2", "W5", "W3"):
        job = open(os.path.join(jobs, c["workload"].lower() + ".yaml")).read()
        assert f'"{c["output"]}"' in job, f"{c['workload']}: job does not write the harness output {c['output']}"
        print(f"   {c['workload']}/fust -> {c['output']}")
EOF
echo "== job files and engine cases in $JOBS"

# ---- 4. run peers + fust in one harness run
use_run_peers() {
  # run_peers.sh also runs data.sh, which loads PostgreSQL tables for SF1 and SF0.1, and its meta block
  # imports connectorx/psycopg and the duckdb-1.4.4 venv; use it only when all of that is in place.
  command -v psql >/dev/null && command -v pg_lsclusters >/dev/null || return 1
  [ "$(psql "$PGURI" -qAtc 'SELECT count(*) > 0 FROM lineitem' 2>/dev/null)" = t ] || return 1
  [ "$(psql "$PGURI" -qAtc 'SELECT count(*) > 0 FROM lineitem_sf0_1' 2>/dev/null)" = t ] || return 1
  [ -s "$BENCH_DATA/sf1/lineitem.parquet" ] && [ -s "$BENCH_DATA/sf0.1/lineitem.parquet" ] || return 1
  "$PY" -c 'import duckdb, polars, pyarrow, datafusion, connectorx, psycopg' 2>/dev/null || return 1
  "$PY_DUCK14" -c 'import duckdb' 2>/dev/null || return 1
}
if [ "$RUNNER" = run_peers ] || { [ "$RUNNER" = auto ] && use_run_peers; }; then
  echo "== BENCH_EXTRA=$CASES ONLY=$ONLY run_peers.sh $SF $RUNS $WARMUP"
  LOG=$JOBS/run_peers.log
  BENCH_EXTRA=$CASES ONLY=$ONLY bash "$BENCH_DIR/run_peers.sh" "$SF" "$RUNS" "$WARMUP" | tee "$LOG"
  RES=$(sed -n 's/^results: \(.*\)  table: .*/\1/p' "$LOG" | tail -1)
else
  # Same steps as run_peers.sh minus PostgreSQL (data.sh's PG load, psql version, W3/W4 venv).
  echo "== run_peers.sh prerequisites (PostgreSQL tables / connectorx / duckdb-1.4.4 venv) missing or RUNNER=harness:"
  echo "   running harness.py + report.py directly (ONLY=$ONLY)"
  case ",$ONLY," in *,W3,*|*,W4,*) echo "   note: W3/W4 need PostgreSQL; they will show as ERROR" ;; esac
  RES=$BENCH_DATA/results/sf${SF}-$(date +%Y%m%d-%H%M%S).jsonl
  mkdir -p "$(dirname "$RES")"
  {
    echo "# host: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$PY" -c "import duckdb,polars,pyarrow,datafusion;print('# duckdb',duckdb.__version__,'polars',polars.__version__,'pyarrow',pyarrow.__version__,'datafusion',datafusion.__version__)"
    echo "# fust $FUST ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo no-commit))"
  } | tee "$RES.meta"
  BENCH_EXTRA=$CASES "$PY" "$BENCH_DIR/harness.py" --sf "$SF" --runs "$RUNS" --warmup "$WARMUP" \
      --only "$ONLY" ${PEERS:+--peers "$PEERS"} --results "$RES"
  ROWS=$("$PY" -c "import pyarrow.parquet as pq;print(pq.ParquetFile('$PARQUET').metadata.num_rows)")
  "$PY" "$BENCH_DIR/report.py" "$RES" "$ROWS" | tee "$RES.md"
fi
echo
echo "results (JSONL): $RES"
echo "results table:   $RES.md"
echo "job files:       $JOBS/{w1,w2,w3,w4,w5}.yaml, engine cases: $CASES"
