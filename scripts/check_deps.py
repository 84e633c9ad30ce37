#!/usr/bin/env python3
"""Checks the workspace's dependency rules (ARCHITECTURE.md):
- fust-config must not depend (even transitively) on arrow, datafusion or tokio;
- fust-engine must not depend on fust-connectors, fust-sql, fust-service or sqlx, nor
  directly on chrono, chrono-tz, croner or uuid (the job service's dependencies);
- fust-sql must not depend on fust-connectors or fust-service;
- fust-connectors must not depend on fust-sql or fust-service;
- fust-service must not depend on fust-connectors or fust-sql (the binary hands it a registry);
- exactly one version of arrow, parquet and object_store in the build;
- one TLS crypto provider: ring; aws-lc-rs (and aws-lc-sys) must not be in Cargo.lock;
- no unused dependency: every dependency a crate's Cargo.toml names is used by its code
  (its library name appears in the crate's .rs files; dev-dependencies in tests and benches);
- no import circle between the files of any crate: `crate::`, `super::` and `self::` paths
  and child modules named in `use` lines (a `pub use` re-export is not a dependency).
Exits non-zero naming each broken rule."""
import json, os, re, subprocess, sys

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
    "fust-engine": {"fust-connectors", "fust-sql", "fust-service", "sqlx"},
    "fust-sql": {"fust-connectors", "fust-service"},
    "fust-connectors": {"fust-sql", "fust-service"},
    "fust-service": {"fust-connectors", "fust-sql"},
}
# Direct dependencies only: the job file's `schedule:` is validated in fust-config (croner,
# chrono-tz), and DataFusion itself uses uuid, so those reach the engine indirectly.
direct_rules = {"fust-engine": {"sqlx", "chrono", "chrono-tz", "croner", "uuid"}}
bad = []
for crate, forbidden in direct_rules.items():
    hit = {pkgs[d]["name"] for d in normal_deps(by_name[crate])} & forbidden
    if hit:
        bad.append(f"{crate} depends directly on {', '.join(sorted(hit))} (the job service's "
                   "dependencies live in fust-service)")
for crate, forbidden in rules.items():
    hit = closure(by_name[crate]) & forbidden
    if hit:
        bad.append(f"{crate} depends on {', '.join(sorted(hit))} (forbidden by ARCHITECTURE.md)")
for lib in ["arrow", "parquet", "object_store"]:
    versions = sorted({p["version"] for p in meta["packages"] if p["name"] == lib})
    if len(versions) != 1:
        bad.append(f"expected exactly one {lib} version in the build, found {versions}")
lock = open(os.path.join(meta["workspace_root"], "Cargo.lock")).read()
for provider in ["aws-lc-rs", "aws-lc-sys"]:
    if f'name = "{provider}"' in lock:
        bad.append(f"{provider} is in Cargo.lock: rustls must use ring only (`cargo tree -i "
                   f"{provider} --target all -e features` shows which feature brings it)")

# --- import circles between files -------------------------------------------------------
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)
USE_CHILD = re.compile(r"^\s*use\s+([A-Za-z_][A-Za-z0-9_]*)::", re.M)


def module_files(src):
    """{module path tuple: file} for every .rs file under src."""
    out = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            out[tuple(rel)] = os.path.join(dirpath, f)
    return out


def strip(text):
    """The code without comments, string literals and `#[cfg(test)] mod tests { … }`."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    cut = re.search(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", text)
    return text[:cut.start()] if cut else text


def edges_of(mod, text, modules):
    """Files that the file of module `mod` depends on."""
    found = set()
    lines = [l for l in text.split("\n") if not re.match(r"\s*pub(\([^)]*\))?\s+use\b", l)]
    body = "\n".join(lines)
    children = set(MOD.findall(text))
    refs = [(m.group(1), m.group(2).split("::")[1:]) for m in PATH.finditer(body)]
    refs += [("self", [m.group(1)]) for m in USE_CHILD.finditer(body) if m.group(1) in children]
    for root, parts in refs:
        if root == "crate":
            base = ()
        elif root == "self":
            base = mod
        else:
            base = mod[:-1]
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
        target = None
        for n in range(len(parts), -1, -1):  # the longest prefix that is a module
            cand = base + tuple(parts[:n])
            if cand in modules:
                target = cand
                break
        if target is not None and target != mod:
            found.add(target)
    return found


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


# --- unused dependencies (the check cargo-machete makes, without installing it) -----------
def rs_text(root, skip=()):
    chunks = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("target", "node_modules", ".git") + skip]
        for f in files:
            if f.endswith(".rs"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    chunks.append(fh.read())
    return "\n".join(chunks)


for member in meta["workspace_members"]:
    pkg = pkgs[member]
    root = os.path.dirname(pkg["manifest_path"])
    # The root package's tree holds the other members: leave them out of its search.
    others = tuple(os.path.relpath(os.path.dirname(pkgs[m]["manifest_path"]), root)
                   for m in meta["workspace_members"] if m != member)
    code = rs_text(root, tuple(o for o in others if not o.startswith("..")))
    for dep in pkg["dependencies"]:
        ident = (dep.get("rename") or dep["name"]).replace("-", "_")
        if not re.search(r"\b" + re.escape(ident) + r"\b", code):
            kind = dep["kind"] or "normal"
            bad.append(f"{pkg['name']}: {kind} dependency `{dep['name']}` is not used; remove it")

circle_count = 0
for member in meta["workspace_members"]:
    pkg = pkgs[member]
    for target in pkg["targets"]:
        if not any(k in ("lib", "bin") for k in target["kind"]):
            continue
        src = os.path.dirname(target["src_path"])
        modules = module_files(src)
        graph = {}
        for mod, path in modules.items():
            with open(path, encoding="utf-8") as f:
                graph[mod] = edges_of(mod, strip(f.read()), modules)
        for comp in cycles(graph):
            circle_count += 1
            files = sorted(os.path.relpath(modules[m]) for m in comp)
            bad.append(f"{pkg['name']}: import circle between {', '.join(files)}")

for b in bad:
    print("dependency rule broken:", b)
if not bad:
    print("dependency rules: ok (config has no arrow/datafusion/tokio; engine/sql/connectors/"
          "service edges as designed; one arrow; no import circle between files)")
sys.exit(1 if bad else 0)
