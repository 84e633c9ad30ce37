//! The file connectors, on local disk and on S3 (a moto server per check).

use std::path::Path;

use super::Connector;
use crate::common::*;

/// A file format on local disk: object `name` is the file `name.EXT` in the test directory.
pub struct Local {
    kind: &'static str,
    ext: &'static str,
}

impl Local {
    pub fn csv() -> Self {
        Self {
            kind: "csv",
            ext: "csv",
        }
    }
    pub fn json() -> Self {
        Self {
            kind: "json",
            ext: "ndjson",
        }
    }
    pub fn parquet() -> Self {
        Self {
            kind: "parquet",
            ext: "parquet",
        }
    }
}

/// The option of each format given a value of the wrong type.
fn bad_value(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "csv" => ("has_header", "maybe"),
        "json" => ("infer_rows", "many"),
        _ => ("region", "[1]"),
    }
}

impl Connector for Local {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn input(&self, name: &str) -> String {
        format!("{{type: {}, path: {name}.{}}}", self.kind, self.ext)
    }
    fn output(&self, name: &str) -> String {
        self.input(name)
    }
    fn reset(&self, dir: &Path, name: &str) {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{}", self.ext)));
    }
    fn exists(&self, dir: &Path, name: &str) -> bool {
        dir.join(format!("{name}.{}", self.ext)).exists()
    }
    fn leftovers(&self, dir: &Path, _prefix: &str) -> Vec<String> {
        temp_files(dir)
    }
    fn keeps_types(&self) -> bool {
        self.kind == "parquet"
    }
    fn empty_keeps_columns(&self) -> bool {
        self.kind != "json"
    }
    fn bad_value(&self) -> (&'static str, &'static str) {
        bad_value(self.kind)
    }
}

/// A file format in an S3 bucket (moto): object `name` is `s3://conformance/data/name.EXT`.
pub struct S3 {
    moto: Moto,
    local: Local,
}

impl S3 {
    pub fn csv() -> Self {
        Self {
            moto: Moto::start("conformance"),
            local: Local::csv(),
        }
    }
    pub fn parquet() -> Self {
        Self {
            moto: Moto::start("conformance"),
            local: Local::parquet(),
        }
    }
    fn key(&self, name: &str) -> String {
        format!("data/{name}.{}", self.local.ext)
    }
}

impl Connector for S3 {
    fn kind(&self) -> &'static str {
        self.local.kind
    }
    fn input(&self, name: &str) -> String {
        format!(
            "{{type: {}, path: 's3://conformance/{}'}}",
            self.local.kind,
            self.key(name)
        )
    }
    fn output(&self, name: &str) -> String {
        self.input(name)
    }
    fn reset(&self, _dir: &Path, _name: &str) {}
    fn exists(&self, _dir: &Path, name: &str) -> bool {
        self.moto.keys().contains(&self.key(name))
    }
    fn leftovers(&self, dir: &Path, _prefix: &str) -> Vec<String> {
        let mut left = temp_files(dir);
        left.extend(
            self.moto
                .keys()
                .into_iter()
                .filter(|k| !k.starts_with("data/fust_conf_") || k.contains(".fust-")),
        );
        left.extend(self.moto.pending_uploads());
        left
    }
    fn env(&self) -> Vec<(String, String)> {
        self.moto.env()
    }
    fn keeps_types(&self) -> bool {
        self.local.keeps_types()
    }
    fn bad_value(&self) -> (&'static str, &'static str) {
        bad_value(self.local.kind)
    }
}
