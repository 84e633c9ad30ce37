//! The command line: help, plugins, schema, validate, the run summary, and the README's
//! generated plugin reference.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Stdio;

use common::*;
use serde_json::Value;

/// The processors of the README's table `| processor | what it compiles to |`.
fn readme_processors() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let names: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| processor | what it compiles to |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            row.split('|')
                .nth(1)
                .unwrap_or("")
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect();
    assert!(names.len() >= 4, "no processor table in README.md");
    names
}

/// The README's plugin table, `| `type` | input ✓ | output ✓ | notes |`: the connectors
/// with an input and those with an output. `fust plugins` must list exactly these, so a
/// new connector's row is its only test-visible registration.
fn readme_connectors() -> (Vec<String>, Vec<String>) {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    let rows = readme
        .lines()
        .skip_while(|l| !l.starts_with("| type | input | output |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        if cells[2] == "✓" {
            inputs.push(name.clone());
        }
        if cells[3] == "✓" {
            outputs.push(name);
        }
    }
    assert!(
        !inputs.is_empty() && !outputs.is_empty(),
        "no plugin table in README.md"
    );
    (inputs, outputs)
}
const COMMANDS: &[&str] = &["run", "validate", "preview", "explain", "plugins", "schema"];

fn root_cmd(args: &[&str]) -> Out {
    fust(&repo_root(), args, &[])
}

#[test]
fn help_mentions_every_command() {
    let out = root_cmd(&["--help"]);
    out.success();
    for c in COMMANDS {
        assert!(
            out.stdout.contains(&format!("  {c} ")),
            "--help lacks `{c}`:\n{}",
            out.stdout
        );
    }
    for (cmd, wants) in [
        ("run", &["JOB", "--quiet"][..]),
        ("validate", &["JOB"][..]),
        ("preview", &["JOB", "--limit"][..]),
        ("explain", &["JOB"][..]),
        ("plugins", &["--json", "--markdown"][..]),
        ("schema", &["JSON Schema"][..]),
    ] {
        let out = root_cmd(&[cmd, "--help"]);
        out.success();
        for w in wants {
            assert!(
                out.stdout.contains(w),
                "`fust {cmd} --help` lacks {w:?}:\n{}",
                out.stdout
            );
        }
    }
    let out = root_cmd(&["--version"]);
    out.success();
    assert!(
        out.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        out.stdout
    );
    // No command: usage on stderr, non-zero.
    let out = root_cmd(&[]);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("Usage"), "{}", out.stderr);
}

#[test]
fn plugins_lists_every_plugin() {
    let out = root_cmd(&["plugins"]);
    out.success();
    let section = |title: &str| -> BTreeSet<String> {
        let (_, tail) = out
            .stdout
            .split_once(title)
            .unwrap_or_else(|| panic!("no {title:?}:\n{}", out.stdout));
        tail.lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    let (inputs, outputs) = readme_connectors();
    assert_eq!(
        section("Inputs"),
        inputs.into_iter().collect(),
        "inputs vs README"
    );
    assert_eq!(
        section("Processors"),
        readme_processors().into_iter().collect(),
        "processors vs README"
    );
    assert_eq!(
        section("Outputs"),
        outputs.into_iter().collect(),
        "outputs vs README"
    );
}

#[test]
fn plugins_name_shows_options() {
    let out = root_cmd(&["plugins", "csv"]);
    out.success();
    // Both the csv input and the csv output, with the FustGo option names.
    assert!(
        out.stdout.contains("csv (input)") && out.stdout.contains("csv (output)"),
        "{}",
        out.stdout
    );
    for opt in [
        "path",
        "has_header",
        "delimiter",
        "write_header",
        "append",
        "mode",
        "compression",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{opt} "))),
            "`fust plugins csv` lacks option `{opt}`:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("Example:"), "{}", out.stdout);
    for (name, opts) in [
        ("filter", &["condition", "mode"][..]),
        ("mapping", &["field_mappings", "cast", "fields", "drop"][..]),
        ("aggregate", &["group_by", "aggregates"][..]),
        ("sql", &["query"][..]),
        ("parquet", &["compression", "row_group_size"][..]),
    ] {
        let out = root_cmd(&["plugins", name]);
        out.success();
        for opt in opts {
            assert!(
                out.stdout.contains(opt),
                "`fust plugins {name}` lacks `{opt}`:\n{}",
                out.stdout
            );
        }
    }
    let out = root_cmd(&["plugins", "parqet"]);
    out.failure();
    assert!(
        out.stderr.contains("did you mean `parquet`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn plugins_json_is_valid() {
    let out = root_cmd(&["plugins", "--json"]);
    out.success();
    let v: Value = serde_json::from_str(&out.stdout).expect("plugins --json is JSON");
    let list = v.as_array().expect("a list");
    let pairs: BTreeSet<(String, String)> = list
        .iter()
        .map(|p| {
            assert!(p["options"].is_object(), "options schema for {p}");
            (
                p["name"].as_str().expect("name").to_string(),
                p["role"].as_str().expect("role").to_string(),
            )
        })
        .collect();
    let (sources, sinks) = readme_connectors();
    for s in &sources {
        assert!(
            pairs.contains(&(s.to_string(), "input".into())),
            "{s} input in {pairs:?}"
        );
    }
    for p in &readme_processors() {
        assert!(
            pairs.contains(&(p.to_string(), "processor".into())),
            "{p} processor in {pairs:?}"
        );
    }
    for s in &sinks {
        assert!(
            pairs.contains(&(s.to_string(), "output".into())),
            "{s} output in {pairs:?}"
        );
    }
}

/// Every `properties.type.const` under `v`.
fn type_consts(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(c) = m
                .get("properties")
                .and_then(|p| p.get("type"))
                .and_then(|t| t.get("const"))
                .and_then(Value::as_str)
            {
                out.insert(c.to_string());
            }
            m.values().for_each(|x| type_consts(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| type_consts(x, out)),
        _ => {}
    }
}

#[test]
fn schema_is_json_with_every_plugin() {
    let out = root_cmd(&["schema"]);
    out.success();
    let schema: Value = serde_json::from_str(&out.stdout).expect("fust schema prints JSON");
    let props = &schema["properties"];
    for key in ["input", "inputs", "pipeline", "output", "settings"] {
        assert!(props.get(key).is_some(), "schema lacks `{key}`");
    }
    let consts = |v: &Value| {
        let mut s = BTreeSet::new();
        type_consts(v, &mut s);
        s
    };
    let inputs = consts(&props["input"]);
    let processors = consts(&props["pipeline"]);
    let outputs = consts(&props["output"]);
    let (sources, sinks) = readme_connectors();
    for s in &sources {
        assert!(inputs.contains(s), "input `type` const {s}: {inputs:?}");
    }
    for p in &readme_processors() {
        assert!(
            processors.contains(p),
            "processor `type` const {p}: {processors:?}"
        );
    }
    for s in &sinks {
        assert!(outputs.contains(s), "output `type` const {s}: {outputs:?}");
    }
    let named = consts(&props["inputs"]);
    for s in &sources {
        assert!(named.contains(s), "inputs.* `type` const {s}: {named:?}");
    }
}

#[test]
fn closed_stdout_is_not_a_panic() {
    // `fust schema | head -1`: the reader goes away; fust must not panic.
    for args in [&["schema"][..], &["plugins", "--markdown"][..]] {
        let mut child = command(&repo_root(), args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fust");
        // Close the reading end before fust writes anything.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        let status = child.wait().expect("wait");
        assert!(
            !err.contains("panicked"),
            "`fust {}` panicked on a closed pipe ({status}):\n{err}",
            args.join(" ")
        );
    }
}

#[test]
fn validate_accepts_every_example() {
    let mut examples: Vec<_> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 3, "{examples:?}");
    for ex in &examples {
        let rel = ex
            .strip_prefix(repo_root())
            .expect("relative")
            .to_str()
            .expect("utf-8")
            .to_string();
        let out = root_cmd(&["validate", &rel]);
        out.success();
        assert!(out.stdout.contains("ok"), "validate {rel}: {}", out.stdout);
    }
}

#[test]
fn run_prints_a_one_line_summary() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id,v\n1,a\n2,b\n3,c\n");
    let job = write_job(
        d,
        "name: summary_test\ninput: {type: csv, path: in.csv}\npipeline:\n  processors:\n    - {type: filter, condition: id > 1}\noutput: {type: csv, path: out/result.csv}\n",
    );
    for quiet in [true, false] {
        let mut args = vec!["run"];
        if quiet {
            args.push("--quiet");
        }
        args.push(job.to_str().expect("utf-8"));
        let out = fust(d, &args, &[]);
        out.success();
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("summary_test: "))
            .unwrap_or_else(|| panic!("no summary line:\n{}", out.stderr));
        assert!(line.contains("3 rows in ("), "{line}");
        assert!(line.contains("2 rows out ("), "{line}");
        assert!(line.contains("to out/result.csv in "), "{line}");
        assert!(
            out.stdout.is_empty(),
            "run prints nothing on stdout: {}",
            out.stdout
        );
        assert_eq!(
            read_rows(&d.join("out/result.csv")),
            rows(&[&["2", "b"], &["3", "c"]])
        );
    }
}

#[test]
fn reference_doc_plugin_options_are_current() {
    let out = root_cmd(&["plugins", "--markdown"]);
    out.success();
    let generated = out.stdout.trim();
    let (sources, sinks) = readme_connectors();
    let processors = readme_processors().into_iter();
    for p in sources.into_iter().chain(processors).chain(sinks) {
        assert!(
            generated.contains(&format!("#### `{p}`")),
            "markdown lacks {p}"
        );
    }
    let fix = "run scripts/update-docs, or paste the output of `fust plugins --markdown` into \
               docs/reference.md between `<!-- plugins:start -->` and `<!-- plugins:end -->`";
    let doc = std::fs::read_to_string(repo_root().join("docs/reference.md"))
        .unwrap_or_else(|e| panic!("cannot read docs/reference.md ({e}); {fix}"));
    let (_, after) = doc.split_once("<!-- plugins:start -->").unwrap_or_else(|| {
        panic!("docs/reference.md has no `<!-- plugins:start -->` marker; {fix}")
    });
    let (section, _) = after
        .split_once("<!-- plugins:end -->")
        .unwrap_or_else(|| panic!("docs/reference.md has no `<!-- plugins:end -->` marker; {fix}"));
    if section.trim() != generated {
        let first_diff = section
            .trim()
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|i| format!("first difference at line {} of the section", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".to_string());
        panic!("docs/reference.md's options reference is out of date ({first_diff}); {fix}");
    }
}
