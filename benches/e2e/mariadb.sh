#!/usr/bin/env bash
# End-to-end benchmark against MariaDB: Fust vs. the native client and PyPI peers, all in ONE run,
# with the method of ../shared/bench (1 warmup + RUNS timed runs, median, peak RSS of the client via
# /usr/bin/time -f %M, ratio to the fastest tool of the workload). See README.md beside this file.
#
#   W3m  MariaDB table lineitem -> file   (Fust mysql -> Parquet snappy, 1 and 2 range partitions;
#        connectorx (+ partitioned); DuckDB mysql extension; `mariadb --quick --batch` -> TSV;
#        `mariadb-dump --tab` (the server writes the file: a floor, not counted in `x best`))
#   W4m  file -> fresh MariaDB table       (Fust Parquet -> mysql append; Polars -> CSV bytes -> pymysql
#        LOAD DATA LOCAL; DuckDB mysql extension; `mariadb --local-infile=1` LOAD DATA LOCAL of the CSV;
#        server-side LOAD DATA INFILE of the CSV (a floor, not counted in `x best`))
#
# usage: benches/e2e/mariadb.sh [SF=1] [RUNS=3]
# env:   WARMUP=1              warmup runs per case
#        ONLY=W3m,W4m          workloads
#        TOOLS=fust_p1,...     restrict to these tools (names as in the table)
#        BENCH_DATA=/tmp/benchdata   data (sf<SF>/lineitem.{csv,parquet}, made by run.sh), outputs, results
#        FUST_BIN=path         default $CARGO_TARGET_DIR/release/fust (never builds; build it first)
#        CARGO_TARGET_DIR=$HOME/.cache/fust-target
#        MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root (empty password), database `bench`
#        BUFFER_POOL=2G        innodb_buffer_pool_size set (SET GLOBAL, until the server restarts) before
#                              timing, so that the 0.9 GB SF1 table is read from memory, as on a server
#                              sized for its data; `BUFFER_POOL=` keeps the server's setting (MariaDB's
#                              default of 128 MiB makes every tool wait on the server's page reads)
#        PY=python3            python with pyarrow, polars, connectorx, pymysql
#        DUCKDB=1              also time DuckDB 1.4.4 + its mysql extension (off by default: 3-4x slower
#                              than the native client at SF0.1, it would add ~15 min to an SF1 run)
#        PY_DUCK_MYSQL=/tmp/bench-venv-duck14-mysql/bin/python   that DuckDB (a venv with
#                              `pip install duckdb==1.4.4 duckdb-ext-mysql==1.4.4.20260205`)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export BENCH_DATA=${BENCH_DATA:-/tmp/benchdata}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fust-target}
export PY=${PY:-$(command -v python3)}
export PY_DUCK_MYSQL=${PY_DUCK_MYSQL:-/tmp/bench-venv-duck14-mysql/bin/python}
export DUCKDB=${DUCKDB:-0}
export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-3306} MYSQL_USER=${MYSQL_USER:-root}
export DB=bench
SF=${1:-1}; RUNS=${2:-3}; WARMUP=${WARMUP:-1}
ONLY=${ONLY:-W3m,W4m}

FUST=${FUST_BIN:-$CARGO_TARGET_DIR/release/fust}
[ -x "$FUST" ] || { echo "error: fust binary $FUST not found (cargo build --release --bin fust, or FUST_BIN=)" >&2; exit 1; }
FUST=$(cd "$(dirname "$FUST")" && pwd)/$(basename "$FUST")
[ -x /usr/bin/time ] || { echo "error: GNU time /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
command -v mariadb >/dev/null || { echo "error: mariadb client missing" >&2; exit 1; }

CSV=$BENCH_DATA/sf$SF/lineitem.csv
PARQUET=$BENCH_DATA/sf$SF/lineitem.parquet
for f in "$CSV" "$PARQUET"; do
  [ -s "$f" ] || { echo "error: $f missing: generate it with benches/e2e/run.sh $SF (tpchgen-cli)" >&2; exit 1; }
done
SF_TAG=${SF//./_}
if [ "$SF" = 1 ]; then SRC_TABLE=lineitem; else SRC_TABLE=lineitem_sf$SF_TAG; fi
export CSV PARQUET SF SF_TAG SRC_TABLE FUST

M=(mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER")
"${M[@]}" -e 'SELECT 1' >/dev/null || { echo "error: MariaDB not reachable at $MYSQL_HOST:$MYSQL_PORT" >&2; exit 1; }

# TPC-H lineitem, no keys/indexes (same columns and types as ../shared/bench/peers/lineitem_ddl.sql)
ddl() {
  cat <<EOF
DROP TABLE IF EXISTS $1;
CREATE TABLE $1 (
  l_orderkey      bigint NOT NULL,
  l_partkey       bigint NOT NULL,
  l_suppkey       bigint NOT NULL,
  l_linenumber    integer NOT NULL,
  l_quantity      decimal(15,2) NOT NULL,
  l_extendedprice decimal(15,2) NOT NULL,
  l_discount      decimal(15,2) NOT NULL,
  l_tax           decimal(15,2) NOT NULL,
  l_returnflag    char(1) NOT NULL,
  l_linestatus    char(1) NOT NULL,
  l_shipdate      date NOT NULL,
  l_commitdate    date NOT NULL,
  l_receiptdate   date NOT NULL,
  l_shipinstruct  varchar(25) NOT NULL,
  l_shipmode      varchar(10) NOT NULL,
  l_comment       varchar(44) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
EOF
}
LOAD_OPTS="FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES"

# ---- 1. database + source table (idempotent)
ROWS=$("$PY" -c "import pyarrow.parquet as pq,sys;print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)" "$PARQUET")
CSV_ROWS=$(( $(wc -l < "$CSV") - 1 ))
[ "$ROWS" = "$CSV_ROWS" ] || { echo "error: $PARQUET has $ROWS rows, $CSV has $CSV_ROWS" >&2; exit 1; }
export ROWS
"${M[@]}" -e "CREATE DATABASE IF NOT EXISTS $DB"
HAVE=$("${M[@]}" -NBe "SELECT count(*) FROM $DB.$SRC_TABLE" 2>/dev/null || echo missing)
if [ "$HAVE" = "$ROWS" ]; then
  echo "== $DB.$SRC_TABLE already has $ROWS rows"
else
  echo "== loading $CSV into $DB.$SRC_TABLE (had: $HAVE)"
  T0=$(date +%s)
  WARN=$( { ddl "$SRC_TABLE"; echo "LOAD DATA LOCAL INFILE '$CSV' INTO TABLE $SRC_TABLE $LOAD_OPTS; SHOW COUNT(*) WARNINGS;"; } \
          | "${M[@]}" --local-infile=1 -NB "$DB")
  HAVE=$("${M[@]}" -NBe "SELECT count(*) FROM $DB.$SRC_TABLE")
  [ "$HAVE" = "$ROWS" ] && [ "$WARN" = 0 ] \
    || { echo "error: loaded $HAVE rows (want $ROWS), $WARN warnings" >&2; exit 1; }
  echo "   $HAVE rows in $(( $(date +%s) - T0 )) s"
fi

# ---- the server's buffer pool (every tool of the run reads through the same setting)
BUFFER_POOL=${BUFFER_POOL-2G}
if [ -n "$BUFFER_POOL" ]; then
  BYTES=$(numfmt --from=iec "$BUFFER_POOL")
  "${M[@]}" -e "SET GLOBAL innodb_buffer_pool_size = $BYTES"
  # The resize runs in the background; wait for it, then read the table once into the pool.
  for _ in $(seq 1 60); do
    [ "$("${M[@]}" -NBe 'SELECT @@innodb_buffer_pool_size')" -ge "$BYTES" ] && break; sleep 1
  done
  "${M[@]}" -NBe "SELECT count(*) FROM $DB.$SRC_TABLE WHERE l_comment LIKE '%zz%'" >/dev/null
fi
echo "== innodb_buffer_pool_size: $("${M[@]}" -NBe 'SELECT @@innodb_buffer_pool_size' | numfmt --to=iec)"

# ---- 2. job files and peer scripts (outside the repo)
JOBS=$BENCH_DATA/mariadb/sf$SF
OUT=$BENCH_DATA/out/sf$SF
RESULTS=$BENCH_DATA/results
mkdir -p "$JOBS" "$OUT" "$RESULTS"
export JOBS OUT
URL="mysql://$MYSQL_USER@$MYSQL_HOST:$MYSQL_PORT/$DB"
export URL

cat > "$JOBS/w3m_p1.yaml" <<EOF
name: w3m_mariadb_parquet_p1
input: {type: mysql, url: "$URL", table: $SRC_TABLE, partitions: 1}
output: {type: parquet, path: "$OUT/w3m_fust_p1.parquet", compression: snappy}
EOF
cat > "$JOBS/w3m_p2.yaml" <<EOF
name: w3m_mariadb_parquet_p2
input: {type: mysql, url: "$URL", table: $SRC_TABLE, partition_column: l_orderkey, partitions: 2}
output: {type: parquet, path: "$OUT/w3m_fust_p2.parquet", compression: snappy}
EOF
cat > "$JOBS/w4m.yaml" <<EOF
name: w4m_parquet_mariadb
input: {type: parquet, path: "$PARQUET"}
output: {type: mysql, url: "$URL", table: w4m_fust_sf$SF_TAG, write_mode: append}
EOF

cat > "$JOBS/w3m_connectorx.py" <<'EOF'
"""W3m: connectorx (MySQL binary protocol) -> Arrow table -> pyarrow Parquet (snappy).
usage: w3m_connectorx.py URI TABLE DST [PARTITIONS]"""
import sys, connectorx as cx, pyarrow.parquet as pq
uri, table, dst = sys.argv[1:4]
parts = int(sys.argv[4]) if len(sys.argv) > 4 else 1
kw = dict(partition_on="l_orderkey", partition_num=parts) if parts > 1 else {}
t = cx.read_sql(uri, f"SELECT * FROM {table}", return_type="arrow", **kw)
pq.write_table(t, dst, compression="snappy")
EOF
cat > "$JOBS/duckdb_mysql.py" <<'EOF'
"""W3m/W4m with DuckDB 1.4.4 + the mysql extension from PyPI (duckdb-ext-mysql).
usage: duckdb_mysql.py read TABLE DST.parquet | write TABLE SRC.parquet"""
import sys, os, glob, duckdb, duckdb_ext
mode, table, path = sys.argv[1:4]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
ext = glob.glob(os.path.join(list(duckdb_ext.__path__)[0], "extensions", "*", "*", "mysql_scanner.duckdb_extension"))[0]
con.execute(f"LOAD '{ext}'")
e = os.environ
con.execute(f"ATTACH 'host={e['MYSQL_HOST']} port={e['MYSQL_PORT']} user={e['MYSQL_USER']} database={e['DB']}' AS my (TYPE mysql)")
if mode == "read":
    con.execute(f"COPY (SELECT * FROM my.{table}) TO '{path}' (FORMAT parquet, COMPRESSION snappy)")
else:
    con.execute(f"INSERT INTO my.{table} SELECT * FROM read_parquet('{path}')")
EOF
cat > "$JOBS/w4m_polars_pymysql.py" <<'EOF'
"""W4m: Polars streaming Parquet batches -> CSV bytes -> FIFO -> pymysql LOAD DATA LOCAL INFILE (one statement).
usage: w4m_polars_pymysql.py TABLE SRC.parquet"""
import os, sys, tempfile, threading, traceback
import polars as pl, pymysql
table, src = sys.argv[1:3]
d = tempfile.mkdtemp()
fifo = os.path.join(d, "rows.csv")
os.mkfifo(fifo)
err = []
def writer():
    try:
        with open(fifo, "wb", buffering=1 << 20) as f:
            for df in pl.scan_parquet(src).collect_batches(chunk_size=100_000):
                df.write_csv(f, include_header=False)
    except BaseException as e:  # noqa: BLE001
        err.append(e)
t = threading.Thread(target=writer, daemon=True)
t.start()
try:
    e = os.environ
    con = pymysql.connect(host=e["MYSQL_HOST"], port=int(e["MYSQL_PORT"]), user=e["MYSQL_USER"], database=e["DB"],
                          local_infile=True, autocommit=False)
    con.cursor().execute(f"LOAD DATA LOCAL INFILE '{fifo}' INTO TABLE {table} "
                         "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'")
    con.commit()
    t.join()
    if err:
        raise err[0]
except BaseException:  # noqa: BLE001 - the writer may block on the FIFO forever: exit hard
    traceback.print_exc()
    os._exit(1)
finally:
    if not t.is_alive():
        os.remove(fifo); os.rmdir(d)
EOF

# ---- 3. run every case in one process (same method as ../shared/bench/harness.py, own time file)
STAMP=$(date +%Y%m%d-%H%M%S)
RES=$RESULTS/mariadb-sf$SF-$STAMP
export RES STAMP WARMUP RUNS ONLY LOAD_OPTS REPO
export TOOLS=${TOOLS:-}
export DDL_TEMPLATE; DDL_TEMPLATE=$(ddl __TABLE__)
"$PY" - <<'EOF'
import datetime, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

E = os.environ
SF, ROWS, RUNS, WARMUP = E["SF"], int(E["ROWS"]), int(E["RUNS"]), int(E["WARMUP"])
CSV, PARQUET, OUT, JOBS, FUST = E["CSV"], E["PARQUET"], E["OUT"], E["JOBS"], E["FUST"]
DB, SRC, TAG, PY, PYD = E["DB"], E["SRC_TABLE"], E["SF_TAG"], E["PY"], E["PY_DUCK_MYSQL"]
RES = E["RES"]
ONLY = set(E["ONLY"].split(",")) - {""}
TOOLS = set(E["TOOLS"].split(",")) - {""}
M = ["mariadb", "-h", E["MYSQL_HOST"], "-P", E["MYSQL_PORT"], "-u", E["MYSQL_USER"]]
TIMEF = tempfile.mktemp(prefix="mariadb-bench-time.")


def sql(q, db=DB):
    p = subprocess.run(M + ["-NB", db, "-e", q], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"mariadb -e {q!r}: {p.stderr.strip()}")
    return p.stdout.strip()


def status(name):
    return int(sql(f"SHOW GLOBAL STATUS LIKE '{name}'").split()[1])


def settle():
    """Untimed 'checkpoint': have InnoDB flush dirty pages of earlier loads, so that a run does not pay for
    the previous one's background writes (innodb_max_dirty_pages_pct lowered to 0 meanwhile, then restored)."""
    old = sql("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")
    try:
        sql("SET GLOBAL innodb_max_dirty_pages_pct = 0")
        t0 = time.time()
        while status("Innodb_buffer_pool_pages_dirty") > 64 and time.time() - t0 < 120:
            time.sleep(0.5)
    finally:
        sql(f"SET GLOBAL innodb_max_dirty_pages_pct = {old}")


def rm(p):
    if os.path.isdir(p):
        shutil.rmtree(p)
    elif os.path.exists(p):
        os.remove(p)


def lines(path):
    n = 0
    with open(path, "rb") as f:
        while b := f.read(64 << 20):
            n += b.count(b"\n")
    return n


def pq_rows(path):
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows


def busy_s():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run_once(cmd, env=None):
    b0 = busy_s()
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", TIMEF] + cmd, capture_output=True, text=True,
                       env=env)
    wall = time.perf_counter() - t0
    other = busy_s() - b0
    if p.returncode:
        raise RuntimeError(f"rc={p.returncode}: {(p.stderr or p.stdout).strip()[-1500:]}")
    rss_kb, u, s = open(TIMEF).read().strip().splitlines()[-1].split()
    return wall, int(rss_kb) / 1024, float(u) + float(s), max(0.0, other - float(u) - float(s))


cases = []
def add(w, tool, cmd, verify, prepare=None, floor=False, optional=False, out=None, after=None, note=""):
    cases.append(dict(w=w, tool=tool, cmd=cmd, verify=verify, prepare=prepare or (lambda: None), floor=floor,
                      optional=optional, out=out, after=after or (lambda: None), note=note))

have_duck = E["DUCKDB"] == "1" and os.path.exists(PYD)
skipped = []
if E["DUCKDB"] == "1" and not have_duck:
    skipped.append(("W3m/W4m", "duckdb_mysqlext", f"{PYD} missing (venv with duckdb==1.4.4 duckdb-ext-mysql)"))
elif not have_duck:
    skipped.append(("W3m/W4m", "duckdb_mysqlext", "not run (DUCKDB=1 runs it)"))
def pyok(mod):
    return subprocess.run([PY, "-c", f"import {mod}"], capture_output=True).returncode == 0

# ---- W3m: table -> file
def fileout(path):
    def prep():
        rm(path)
    return prep
for tool, cmd, ext, opt in [
        ("fust_p1", [FUST, "run", "--quiet", f"{JOBS}/w3m_p1.yaml"], "parquet", False),
        ("fust_p2", [FUST, "run", "--quiet", f"{JOBS}/w3m_p2.yaml"], "parquet", False),
        ("connectorx", [PY, f"{JOBS}/w3m_connectorx.py", E["URL"], SRC], "parquet", False),
        ("connectorx_p2", [PY, f"{JOBS}/w3m_connectorx.py", E["URL"], SRC, None, "2"], "parquet", True),
        ("duckdb_mysqlext", [PYD, f"{JOBS}/duckdb_mysql.py", "read", SRC], "parquet", True),
        ("mariadb_batch_tsv", None, "tsv", False)]:
    if tool == "duckdb_mysqlext" and not have_duck:
        continue
    o = f"{OUT}/w3m_{tool}.{ext}"
    if tool.startswith("fust"):
        pass  # the job file names o
    elif tool == "mariadb_batch_tsv":
        cmd = ["bash", "-c", " ".join(M) + f" --quick --batch -e 'SELECT * FROM {SRC}' {DB} > {o}"]
    elif None in cmd:
        cmd[cmd.index(None)] = o
    else:
        cmd = cmd + [o]
    add("W3m", tool, cmd, (lambda o=o: pq_rows(o)) if ext == "parquet" else (lambda o=o: lines(o) - 1),
        prepare=fileout(o), optional=opt, out=o)
# mariadb-dump --tab: the server itself writes <dir>/<table>.txt (needs FILE privilege and a directory the
# server may write); a floor like PostgreSQL's server-side COPY
dump_dir = f"{OUT}/w3m_mariadb_dump_tab"
def prep_dump():
    rm(dump_dir); os.makedirs(dump_dir); os.chmod(dump_dir, 0o1777)
add("W3m", "mariadb_dump_tab", ["mariadb-dump", "-h", E["MYSQL_HOST"], "-P", E["MYSQL_PORT"], "-u", E["MYSQL_USER"],
                                f"--tab={dump_dir}", DB, SRC],
    lambda: lines(f"{dump_dir}/{SRC}.txt"), prepare=prep_dump, floor=True, optional=True, out=f"{dump_dir}/{SRC}.txt",
    note="server writes TSV (SELECT INTO OUTFILE)")

# ---- W4m: file -> fresh table
def table_prep(t):
    def prep():
        sql(E["DDL_TEMPLATE"].replace("__TABLE__", t))
        settle()
    return prep
def table_rows(t):
    return lambda: int(sql(f"SELECT count(*) FROM {t}"))
def table_drop(t):
    return lambda: sql(f"DROP TABLE IF EXISTS {t}")
load = lambda path, local: (f"LOAD DATA {'LOCAL ' if local else ''}INFILE '{path}' INTO TABLE {{t}} " + E["LOAD_OPTS"])
w4 = [("fust", [FUST, "run", "--quiet", f"{JOBS}/w4m.yaml"], False, False, "Parquet"),
      ("polars_pymysql", [PY, f"{JOBS}/w4m_polars_pymysql.py", "{t}", PARQUET], False, True, "Parquet"),
      ("duckdb_mysqlext", [PYD, f"{JOBS}/duckdb_mysql.py", "write", "{t}", PARQUET], False, True, "Parquet"),
      ("mariadb_load_local_csv", M + ["--local-infile=1", DB, "-e", load(CSV, True)], False, False, "CSV"),
      ("server_load_infile_csv", M + [DB, "-e", load(CSV, False)], True, True, "CSV")]
for tool, cmd, floor, opt, src in w4:
    if tool == "duckdb_mysqlext" and not have_duck:
        continue
    if tool == "polars_pymysql" and not pyok("pymysql"):
        skipped.append(("W4m", tool, "pymysql not installed (pip install pymysql)"))
        continue
    t = f"w4m_{tool}_sf{TAG}"
    if tool == "fust":
        assert f"table: {t}," in open(f"{JOBS}/w4m.yaml").read()
    add("W4m", tool, [c.replace("{t}", t) for c in cmd], table_rows(t), prepare=table_prep(t), floor=floor,
        optional=opt, out=f"db:{t}", after=table_drop(t), note=f"from {src}")

# ---- run
meta = []
def v(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001
        return "?"
meta.append(f"host: {os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1)} GiB RAM, "
            f"kernel {platform.release()}, load at start {open('/proc/loadavg').read().split()[0]}")
meta.append("MariaDB server " + sql("SELECT CONCAT(version(), ', buffer pool ', @@innodb_buffer_pool_size DIV 1048576, ' MB, redo log ', "
                                    "@@innodb_log_file_size DIV 1048576, ' MB, flush_log_at_trx_commit ', @@innodb_flush_log_at_trx_commit, "
                                    "', flush_method ', @@innodb_flush_method)"))
meta.append("client: " + v("mariadb --version") + "; " + v("mariadb-dump --version"))
meta.append("fust: " + FUST + " (" + v(f"{FUST} --version") + ", built " +
            datetime.datetime.fromtimestamp(os.path.getmtime(FUST)).isoformat(timespec="minutes") + ", repo HEAD " +
            v(f"git -C {E['REPO']} rev-parse --short HEAD") + ")")
meta.append("python: " + v(f"{PY} -c \"import sys,pyarrow,polars,connectorx;print(sys.version.split()[0],'pyarrow',pyarrow.__version__,"
                             f"'polars',polars.__version__,'connectorx',connectorx.__version__)\"")
            + ("; pymysql " + v(f"{PY} -c 'import pymysql;print(pymysql.VERSION_STRING)'") if pyok("pymysql") else "")
            + ("; duckdb " + v(f"{PYD} -c 'import duckdb;print(duckdb.__version__)'") + " + duckdb-ext-mysql "
               + v(f"{PYD} -m pip show duckdb-ext-mysql 2>/dev/null | sed -n 's/^Version: //p'") if have_duck else ""))
for m in meta:
    print("# " + m, flush=True)

settle()  # e.g. the source table was just loaded
recs, failed = [], []
jf = open(RES + ".jsonl", "a")
for c in cases:
    if (ONLY and c["w"] not in ONLY) or (TOOLS and c["tool"] not in TOOLS):
        continue
    tag = f"{c['w']}/{c['tool']}"
    rec = dict(sf=SF, workload=c["w"], tool=c["tool"], floor=c["floor"], cmd=" ".join(c["cmd"]), note=c["note"],
               when=datetime.datetime.now().isoformat(timespec="seconds"))
    try:
        try:
            for _ in range(WARMUP):
                c["prepare"](); run_once(c["cmd"])
        except Exception as e:
            if c["optional"]:
                skipped.append((c["w"], c["tool"], "does not run here: " + str(e).replace("\n", " ")[:300]))
                print(f"{tag:34s} SKIPPED (optional, failed in warmup): {str(e)[:300]}", flush=True)
                c["after"]()
                continue
            raise
        runs = []
        for i in range(RUNS):
            c["prepare"]()
            runs.append(run_once(c["cmd"]))
            got = c["verify"]()
            if got != ROWS:
                raise RuntimeError(f"run {i + 1}: output {c['out']} has {got} rows, expected {ROWS}")
        walls = [r[0] for r in runs]
        rec.update(walls=walls, wall_med=statistics.median(walls), rss_mb_med=statistics.median(r[1] for r in runs),
                   cpu_s_med=statistics.median(r[2] for r in runs), other_cpu_s_med=statistics.median(r[3] for r in runs),
                   out_rows=got)
        if c["out"] and not c["out"].startswith("db:") and os.path.exists(c["out"]):
            rec["out_mb"] = os.path.getsize(c["out"]) / 1e6
        print(f"{tag:34s} med {rec['wall_med']:7.2f}s  runs {['%.2f' % w for w in walls]}  rss {rec['rss_mb_med']:6.0f}MB"
              f"  cpu {rec['cpu_s_med']:5.1f}s  other {rec['other_cpu_s_med']:5.1f}s  rows {got}", flush=True)
    except Exception as e:  # noqa: BLE001
        rec["error"] = str(e)[-1500:]
        failed.append(tag)
        print(f"{tag:34s} FAILED: {rec['error']}", flush=True)
    c["after"]()
    recs.append(rec)
    jf.write(json.dumps(rec) + "\n"); jf.flush()

# ---- report
best = {}
for r in recs:
    if "wall_med" in r and not r["floor"]:
        best[r["workload"]] = min(best.get(r["workload"], 1e9), r["wall_med"])
out = [f"# MariaDB end-to-end benchmark, SF{SF} ({ROWS:,} rows), {E['STAMP']}", ""]
out += [f"* {m}" for m in meta]
out += [f"* median of {RUNS} timed runs after {WARMUP} warmup; `x best` = median / fastest non-floor tool of the workload;"
        " peak RSS = largest client process (server not included); CPU s = client user+sys;"
        " other CPU s = all other CPU on the box during the run (mostly mariadbd)", ""]
out.append("| workload | tool | median s | runs s | x best | peak RSS MB | Mrows/s | CPU s | other CPU s | out rows | out MB |")
out.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for r in recs:
    name = r["tool"] + (" (floor)" if r["floor"] else "")
    if "wall_med" not in r:
        out.append(f"| {r['workload']} | {name} | FAILED | | | | | | | | |")
        continue
    xb = "-" if r["floor"] else f"{r['wall_med'] / best[r['workload']]:.2f}"
    out.append(f"| {r['workload']} | {name} | {r['wall_med']:.2f} | {'/'.join('%.2f' % w for w in r['walls'])} | {xb} | "
               f"{r['rss_mb_med']:.0f} | {ROWS / r['wall_med'] / 1e6:.2f} | {r['cpu_s_med']:.1f} | {r['other_cpu_s_med']:.1f} | "
               f"{r['out_rows']} | {('%.0f' % r['out_mb']) if 'out_mb' in r else ''} |")
if skipped:
    out += ["", "Skipped:"] + [f"* {w} {t}: {why}" for w, t, why in skipped]
if failed:
    out += ["", "FAILED: " + ", ".join(failed)]
text = "\n".join(out) + "\n"
print()
print(text)
open(RES + ".md", "w").write(text)
print(f"results: {RES}.md (raw: {RES}.jsonl)")
os.path.exists(TIMEF) and os.remove(TIMEF)
if failed:
    print(f"ERROR: {len(failed)} case(s) failed: {', '.join(failed)}", file=sys.stderr)
    sys.exit(1)
EOF
