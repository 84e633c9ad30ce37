//! Data-driven processor tests. Every directory under `tests/golden/` is one case:
//!
//! - `job.yaml`: a job run with the case directory as working directory; it writes
//!   `${OUT_DIR}/out.csv` (OUT_DIR is a fresh temporary directory);
//! - its input files;
//! - `expected.csv`: the exact text the output must have;
//! - optionally `env`: `NAME=value` lines set in fust's environment.
//!
//! Set `FUST_BLESS=1` to overwrite `expected.csv` with the actual output (then review the
//! diff: the expected files are meant to be written by reasoning, not by the program).

mod common;

use std::path::Path;

use common::*;

fn read_env(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("env")) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: bad env line {l:?}", dir.display()));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Runs one case; `Err` describes how it failed.
fn run_case(dir: &Path) -> Result<(), String> {
    let out_dir = tempdir();
    let mut env = read_env(dir);
    env.push(("OUT_DIR".into(), out_dir.path().display().to_string()));
    let res = run_job(dir, Path::new("job.yaml"), &env_refs(&env));
    if res.code != Some(0) {
        return Err(format!("exit {:?}\n{}", res.code, res.stderr));
    }
    let out = out_dir.path().join("out.csv");
    let actual = std::fs::read_to_string(&out).map_err(|e| {
        format!(
            "no {}: {e}; files: {:?}",
            out.display(),
            list_files(out_dir.path())
        )
    })?;
    let expected_path = dir.join("expected.csv");
    if std::env::var_os("FUST_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected =
        std::fs::read_to_string(&expected_path).map_err(|e| format!("no expected.csv: {e}"))?;
    if actual != expected {
        return Err(format!(
            "output differs\n--- expected ---\n{expected}--- actual ---\n{actual}"
        ));
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let root = repo_root().join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("job.yaml").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the golden cases under {}",
        root.display()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        match run_case(dir) {
            Ok(()) => eprintln!("golden {name}: ok"),
            Err(e) => {
                eprintln!("golden {name}: FAILED");
                failures.push(format!("== {name} ==\n{e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
