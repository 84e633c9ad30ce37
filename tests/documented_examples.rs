//! The docs cannot drift from the code: every plugin's documented example (the one
//! `fust plugins NAME`, `/plugins` and docs/reference.md show) builds with its plugin, and
//! every job file in `examples/` passes `fust validate`.

mod common;

use common::*;
use fust_engine::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    fust_connectors::register_all(&mut r);
    fust_sql::register_all(&mut r);
    r
}

/// `text` indented by `n` spaces (a YAML block under a key).
fn indent(text: &str, n: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(n)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_plugin_example_builds() {
    let r = registry();
    let source = "input:\n  type: csv\n  path: data.csv\n";
    let sink = "output:\n  type: console\n";
    let mut checked = 0;
    let mut names = std::collections::BTreeSet::new();
    for (role, infos) in [
        ("input", r.sources().collect::<Vec<_>>()),
        ("processor", r.processors().collect()),
        ("output", r.sinks().collect()),
    ] {
        for info in infos {
            assert!(
                names.insert((role, info.name)),
                "{role} `{}` is registered twice",
                info.name
            );
            assert!(
                info.example.contains(&format!("type: {}", info.name)),
                "the example of {role} `{}` does not say its type:\n{}",
                info.name,
                info.example
            );
            let job = match role {
                "input" => format!("input:\n{}\n{sink}", indent(info.example, 2)),
                "output" => format!("{source}output:\n{}\n", indent(info.example, 2)),
                // The route's example sends records to outputs of these names.
                _ if info.name == "route" => format!(
                    "{source}pipeline:\n  processors:\n    - {}\noutputs:\n  big: {{type: console}}\n  eu: {{type: console}}\n  rest: {{type: console}}\n",
                    indent(info.example, 6).trim_start()
                ),
                _ => format!(
                    "{source}pipeline:\n  processors:\n    - {}\n{sink}",
                    indent(info.example, 6).trim_start()
                ),
            };
            if let Err(e) = r.load_str(&job, "example") {
                panic!(
                    "the documented example of {role} `{}` does not build:\n{e}\n--- job ---\n{job}",
                    info.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} plugins registered");
}

#[test]
fn every_example_job_validates() {
    let dir = repo_root().join("examples");
    let mut jobs: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    jobs.sort();
    assert!(jobs.len() >= 3, "examples/ has {} job files", jobs.len());
    for job in &jobs {
        let out = fust(
            &repo_root(),
            &["validate", job.to_str().expect("utf-8 path")],
            &[],
        );
        out.success();
        assert!(
            out.stdout.contains("valid") || out.stderr.is_empty(),
            "{}: {}{}",
            job.display(),
            out.stdout,
            out.stderr
        );
    }
}
