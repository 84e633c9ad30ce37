#!/usr/bin/env python3
"""Draws the benchmark summary as an SVG bar chart (Python 3 standard library only).

    python3 benches/plot.py [CSV] [SVG]

Reads CSV (default: benches/results/summary.csv; columns `workload,tool,seconds`) and writes
SVG (default: benches/results/summary.svg): one group of horizontal bars per workload, one
bar per tool, fastest first, Fust highlighted. Each workload has its own scale (W2 takes
a fraction of a second, W4 tens of seconds), so compare bars within a group, not across.

The figures in summary.csv are the latest side-by-side runs in docs/benchmarks.md: W1, W2
and W5 from pass 8 (2026-11-27 07:56 UTC, the final binary), W3 from the `ctid` page-range
run (2026-11-27 02:26 UTC) and W4 from the PostgreSQL run of 2026-11-26 23:05 UTC. Every
value is the median of 3 timed runs after 1 warmup, all tools of a workload in one run.
"""

import csv
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

# What each workload does (TPC-H lineitem SF1, 6,001,215 rows); unknown names get none.
WORKLOADS = {
    "W1": "CSV → filter + rename → Parquet",
    "W2": "Parquet → TPC-H Q1 aggregate → CSV",
    "W3": "PostgreSQL → Parquet",
    "W4": "Parquet → PostgreSQL",
    "W5": "CSV → CSV passthrough",
}

HIGHLIGHT = "fust"
WIDTH = 820
LABEL_W = 250  # tool names, right-aligned
BAR_X = LABEL_W + 10
BAR_MAX = WIDTH - BAR_X - 150  # room for the value label after the longest bar
ROW_H = 22
BAR_H = 15
TITLE_H = 28
GAP = 14
TOP = 52
FONT = "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'"


def read(path):
    """Rows of the CSV grouped by workload, in order of first appearance."""
    groups = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"workload", "tool", "seconds"} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"error: {path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                seconds = float(row["seconds"])
            except ValueError:
                sys.exit(f"error: {path}:{line}: seconds must be a number, got {row['seconds']!r}")
            if seconds < 0:
                sys.exit(f"error: {path}:{line}: seconds must not be negative")
            groups.setdefault(row["workload"].strip(), []).append((row["tool"].strip(), seconds))
    if not groups:
        sys.exit(f"error: {path}: no rows")
    return groups


def svg(groups):
    height = TOP + sum(TITLE_H + ROW_H * len(rows) + GAP for rows in groups.values()) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}' {FONT} font-size='13'>",
        f"<rect width='{WIDTH}' height='{height}' fill='#ffffff'/>",
        f"<text x='12' y='24' font-size='16' font-weight='600' fill='#222'>"
        f"Fust vs. peers: wall time, median of 3 runs (shorter is better)</text>",
        f"<text x='12' y='42' font-size='12' fill='#666'>TPC-H lineitem SF1, 2 vCPU; "
        f"each workload on its own scale; ratio = time ÷ Fust's time</text>",
    ]
    y = TOP
    for workload, rows in groups.items():
        rows = sorted(rows, key=lambda r: r[1])
        title = workload + (f" — {WORKLOADS[workload]}" if workload in WORKLOADS else "")
        out.append(
            f"<text x='12' y='{y + 18}' font-size='14' font-weight='600' fill='#222'>"
            f"{escape(title)}</text>"
        )
        y += TITLE_H
        top = max(s for _, s in rows) or 1.0
        fust = next((s for t, s in rows if t.lower() == HIGHLIGHT), None)
        for tool, seconds in rows:
            mine = tool.lower() == HIGHLIGHT
            w = max(1.0, BAR_MAX * seconds / top)
            fill = "#e8590c" if mine else "#adb5bd"
            weight = " font-weight='700'" if mine else ""
            cy = y + BAR_H - 3
            label = f"{seconds:.2f} s"
            if fust and not mine:
                label += f"  ({seconds / fust:.2f}×)"
            out += [
                f"<text x='{LABEL_W}' y='{cy}' text-anchor='end' fill='#333'{weight}>"
                f"{escape(tool)}</text>",
                f"<rect x='{BAR_X}' y='{y}' width='{w:.1f}' height='{BAR_H}' rx='2' fill='{fill}'>"
                f"<title>{escape(f'{workload} {tool}: {seconds:.2f} s')}</title></rect>",
                f"<text x='{BAR_X + w + 6:.1f}' y='{cy}' fill='#333'{weight}>{escape(label)}</text>",
            ]
            y += ROW_H
        y += GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    src = Path(argv[1]) if len(argv) > 1 else HERE / "results" / "summary.csv"
    dst = Path(argv[2]) if len(argv) > 2 else src.with_suffix(".svg")
    dst.write_text(svg(read(src)), encoding="utf-8")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main(sys.argv)
