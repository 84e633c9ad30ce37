#!/usr/bin/env python3
"""A/B run of two fust binaries on the end-to-end workloads, alternating in one run.

    python3 benches/e2e/ab.py BEFORE_BIN AFTER_BIN [--runs 3] [--only W1,W2,W3,W4,W5]

Uses the data of ../shared/bench/data.sh ($BENCH_DATA, default /tmp/benchdata: TPC-H lineitem
SF1 as CSV and SNAPPY Parquet, and the PostgreSQL table `lineitem` in $PGURI) and the same
job files as benches/e2e/run.sh. Each workload: one warmup per binary, then RUNS rounds of
before/after in turn (so machine noise hits both alike); prints the medians and after/before.
Outputs are removed before every run; W4's target table is dropped before every run.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.environ.get("BENCH_DIR", os.path.join(HERE, "..", "..", "..", "shared", "bench"))
DATA = os.environ.get("BENCH_DATA", "/tmp/benchdata")
PGURI = os.environ.get("PGURI", "postgresql://postgres@127.0.0.1:5432/bench")


def jobs(out):
    csv = f"{DATA}/sf1/lineitem.csv"
    parquet = f"{DATA}/sf1/lineitem.parquet"
    q = json.dumps
    q1 = open(os.path.join(BENCH_DIR, "peers", "q1.sql")).read().strip()
    q1 = re.sub(r"\bFROM\s+lineitem\b", "FROM input", q1, flags=re.I)
    q1_block = "\n".join("          " + line for line in q1.splitlines())
    return {
        "W1": (f"{out}/w1.parquet", f"""input: {{type: csv, path: {q(csv)}, has_header: true}}
pipeline:
  processors:
    - {{type: filter, condition: "l_quantity > 10"}}
    - {{type: mapping, field_mappings: {{l_orderkey: order_id}}}}
output: {{type: parquet, path: {q(out + "/w1.parquet")}, compression: snappy}}
"""),
        "W2": (f"{out}/w2.csv", f"""input: {{type: parquet, path: {q(parquet)}}}
pipeline:
  processors:
    - type: sql
      query: |
{q1_block}
output: {{type: csv, path: {q(out + "/w2.csv")}, write_header: true}}
"""),
        "W3": (f"{out}/w3.parquet", f"""input: {{type: postgres, url: {q(PGURI)}, table: lineitem, partitions: 2}}
output: {{type: parquet, path: {q(out + "/w3.parquet")}, compression: snappy}}
"""),
        "W4": (None, f"""input: {{type: parquet, path: {q(parquet)}}}
output: {{type: postgres, url: {q(PGURI)}, table: w4_ab, write_mode: append}}
"""),
        "W5": (f"{out}/w5.csv", f"""input: {{type: csv, path: {q(csv)}, has_header: true}}
output: {{type: csv, path: {q(out + "/w5.csv")}, write_header: true}}
"""),
    }


def run(binary, job, output):
    if output and os.path.exists(output):
        os.remove(output)
    if output is None:
        subprocess.run(["psql", PGURI, "-qc", "DROP TABLE IF EXISTS w4_ab; CHECKPOINT"],
                       check=True, capture_output=True)
    t = time.perf_counter()
    done = subprocess.run([binary, "run", "--quiet", job], capture_output=True, text=True)
    secs = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"{binary} {job} failed:\n{done.stderr}")
    return secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="W1,W2,W3,W4,W5")
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="fust-ab-")
    rows = []
    for w, (output, text) in jobs(out).items():
        if w not in a.only.split(","):
            continue
        job = f"{out}/{w.lower()}.yaml"
        open(job, "w").write(text)
        times = {"before": [], "after": []}
        run(a.before, job, output)  # warmups
        run(a.after, job, output)
        for i in range(a.runs):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            for which in order:
                times[which].append(run(getattr(a, which), job, output))
        b, f = statistics.median(times["before"]), statistics.median(times["after"])
        rows.append((w, b, f, times))
        print(f"{w}: before {b:.2f} s {['%.2f' % x for x in times['before']]}, "
              f"after {f:.2f} s {['%.2f' % x for x in times['after']]}, after/before {f / b:.3f}",
              flush=True)
    print()
    print("| workload | before (median s) | after (median s) | after ÷ before | runs before | runs after |")
    print("|---|---:|---:|---:|---|---|")
    for w, b, f, t in rows:
        print(f"| {w} | {b:.2f} | {f:.2f} | {f / b:.3f} | {' / '.join('%.2f' % x for x in t['before'])} "
              f"| {' / '.join('%.2f' % x for x in t['after'])} |")
    subprocess.run(["psql", PGURI, "-qc", "DROP TABLE IF EXISTS w4_ab"], capture_output=True)


if __name__ == "__main__":
    main()
