#!/usr/bin/env python3
"""Checks the workspace's dependency rules (ARCHITECTURE.md):
- fust-config must not depend (even transitively) on arrow, datafusion or tokio;
- fust-engine must not depend on fust-connectors or fust-sql;
- fust-sql must not depend on fust-connectors; fust-connectors must not depend on fust-sql;
- exactly one version of arrow, parquet and object_store in the build.
Exits non-zero naming each broken rule."""
import json, subprocess, sys

meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"],
                                 check=True, capture_output=True, text=True).stdout)
pkgs = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
by_name = {pkgs[i]["name"]: i for i in meta["workspace_members"]}

def normal_deps(pid):
    # dependencies of kind "normal" only (dev-dependencies may use anything)
    for d in nodes[pid]["deps"]:
        if any(k["kind"] is None for k in d["dep_kinds"]):
            yield d["pkg"]

def closure(pid):
    seen, stack = set(), [pid]
    while stack:
        for d in normal_deps(stack.pop()):
            if d not in seen:
                seen.add(d); stack.append(d)
    return {pkgs[d]["name"] for d in seen}

rules = {
    "fust-config": {"arrow", "arrow-array", "datafusion", "tokio"},
    "fust-engine": {"fust-connectors", "fust-sql"},
    "fust-sql": {"fust-connectors"},
    "fust-connectors": {"fust-sql"},
}
bad = []
for crate, forbidden in rules.items():
    hit = closure(by_name[crate]) & forbidden
    if hit:
        bad.append(f"{crate} depends on {', '.join(sorted(hit))} (forbidden by ARCHITECTURE.md)")
for lib in ["arrow", "parquet", "object_store"]:
    versions = sorted({p["version"] for p in meta["packages"] if p["name"] == lib})
    if len(versions) != 1:
        bad.append(f"expected exactly one {lib} version in the build, found {versions}")
for b in bad:
    print("dependency rule broken:", b)
if not bad:
    print("dependency rules: ok (config has no arrow/datafusion/tokio; engine/sql/connectors edges as designed; one arrow)")
sys.exit(1 if bad else 0)
