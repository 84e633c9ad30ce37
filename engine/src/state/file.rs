//! [`FileStateStore`]: state kept in one JSON file (`{"key": "value", …}`), replaced
//! atomically and durably on every write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datafusion::error::{DataFusionError, Result};

use super::StateStore;

/// A JSON object in a file. A write goes to a temporary file beside it
/// (`.NAME.fust-PID-….tmp`), fsynced, renamed over it, and the directory fsynced
/// ([`crate::durable::write_atomically`]), so a kill or a power cut keeps either the old
/// values or the new ones, and a `put` that returned stays; the next write removes the
/// temporary files of killed runs. A missing file holds no values.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    path: PathBuf,
    /// How messages name the file's option, e.g. `state_file`.
    option: &'static str,
}

impl FileStateStore {
    pub fn new(path: impl Into<PathBuf>, option: &'static str) -> Self {
        Self {
            path: path.into(),
            option,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, e: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("{} {}: {e}", self.option, self.path.display()))
    }

    fn read(&self) -> Result<BTreeMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                self.error(format!(
                    "not a Fust state file ({e}); move it away to start over"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn write(&self, state: &BTreeMap<String, String>) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.error(e))?;
        }
        let text = serde_json::to_vec_pretty(state).map_err(|e| self.error(e))?;
        crate::durable::write_atomically(&self.path, &text).map_err(|e| self.error(e))
    }
}

#[async_trait]
impl StateStore for FileStateStore {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.read()?.remove(key))
    }

    async fn put(&self, key: &str, value: &str) -> Result<()> {
        let mut state = self.read()?;
        state.insert(key.to_string(), value.to_string());
        self.write(&state)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn values_survive_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::new(dir.path().join("sub/state.json"), "state_file");
        assert_eq!(store.get("a").await.unwrap(), None);
        store.put("a", "1").await.unwrap();
        store.put("b", "2").await.unwrap();
        store.put("a", "3").await.unwrap();
        let again = FileStateStore::new(dir.path().join("sub/state.json"), "state_file");
        assert_eq!(again.get("a").await.unwrap().as_deref(), Some("3"));
        assert_eq!(again.get("b").await.unwrap().as_deref(), Some("2"));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file is left");

        std::fs::write(dir.path().join("bad.json"), "[1,").unwrap();
        let bad = FileStateStore::new(dir.path().join("bad.json"), "state_file");
        let e = bad.get("a").await.unwrap_err().to_string();
        assert!(e.contains("state_file") && e.contains("bad.json"), "{e}");
        assert!(e.contains("not a Fust state file"), "{e}");
    }
}
