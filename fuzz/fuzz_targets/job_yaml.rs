//! Job text → `JobSpec` (YAML, `${VAR}` interpolation, structure) → every plugin's options,
//! as `fust serve` does for a job sent over HTTP: diagnostics are fine, panics and hangs
//! are not.
#![no_main]

use std::sync::LazyLock;

use fust_config::{JobSpec, Variables};
use fust_engine::Registry;
use libfuzzer_sys::fuzz_target;

/// Every connector and processor, as the binary registers them.
static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut r = Registry::new();
    fust_connectors::register_all(&mut r);
    fust_sql::register_all(&mut r);
    r
});

/// A server's rules: one allowed variable pattern and one named secret.
static VARS: LazyLock<Variables> = LazyLock::new(|| Variables::Server {
    allowed: vec!["FUST_FUZZ_*".into()],
    secrets: [("pw".to_string(), "s3cret".to_string())].into(),
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (spec, diags) = JobSpec::parse_partial_with(text, "job.yaml", &VARS);
    // What the diagnostics print (line:column marks into the text) must not panic either.
    let _ = diags.clone().into_result(()).map_err(|e| e.to_string());
    if let Ok(job) = REGISTRY.compile_partial(&spec, diags) {
        let _ = format!("{:?}", job.spec);
    }
});
