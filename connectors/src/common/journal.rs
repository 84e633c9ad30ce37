//! The append journal: how an append to a local file stays all or nothing when the
//! process is killed (`kill -9`, OOM killer, power cut) in the middle of it.
//!
//! Before the first byte is appended, `.NAME.fust-append` is written beside the file with
//! the file's length and the appending process (pid and start time), and fsynced with its
//! directory. The append then goes to the end of the file in place; on success the file is
//! fsynced and the journal removed (that removal is the commit). A run that finds a
//! journal whose process is gone cuts the file back to the recorded length before
//! anything else, whatever its own mode; a journal whose process is alive means another
//! run is appending, and the run stops with a message.
//!
//! Why not copy the old content and the new rows to a temporary file and rename it, as
//! overwrite does: that is atomic for readers too, but every append would rewrite the whole
//! file, and appends are how files grow large (a daily run adding to one CSV). In-place
//! appends cost nothing extra; the price is that between a kill and the next run of the
//! same output, other readers see a partial last run at the end of the file.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use datafusion::common::DataFusionError;
use datafusion::error::Result;
use fust_engine::durable::{dir_of, process_alive, process_start, sync_dir};

/// The first line of a journal; names the format.
const MAGIC: &str = "fust append journal v1";

/// The journal of appends to `target`: `.NAME.fust-append` in the same directory.
pub fn journal_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    dir_of(target).join(format!(".{name}.fust-append"))
}

/// What a complete journal records.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    pid: u32,
    start: Option<u64>,
    length: u64,
}

impl Entry {
    fn to_text(&self) -> String {
        let start = self
            .start
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        format!(
            "{MAGIC}\npid {}\nstart {start}\nlength {}\nend\n",
            self.pid, self.length
        )
    }

    /// `None` for a journal that is not complete (the process was killed while writing
    /// it, before it had appended anything) or not one of ours.
    fn parse(text: &str) -> Option<Entry> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_string)
        };
        let pid = field("pid")?.parse().ok()?;
        let start = field("start")?;
        let length = field("length")?.parse().ok()?;
        if lines.next()? != "end" {
            return None;
        }
        Some(Entry {
            pid,
            start: start.parse().ok(),
            length,
        })
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> DataFusionError {
    DataFusionError::Execution(format!("cannot {what} {}: {e}", path.display()))
}

/// Finishes what a killed append to `target` left: when its journal's process is gone,
/// cuts `target` back to the length it had before that append, then removes the journal.
/// Called before a run touches `target` in any mode. Fails when another live run is
/// appending to `target`.
pub fn recover(target: &Path) -> Result<()> {
    let journal = journal_path(target);
    let text = match std::fs::read(&journal) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read the append journal", &journal, e)),
    };
    if let Some(entry) = Entry::parse(&text) {
        if process_alive(entry.pid, entry.start) {
            return Err(DataFusionError::Execution(format!(
                "`{}` is being appended to by another run (process {}, journal {}); wait for \
                 it to finish. If no process {} is running, undo its append yourself: cut the \
                 file to {} bytes (`truncate -s {} FILE`) and remove the journal",
                target.display(),
                entry.pid,
                journal.display(),
                entry.pid,
                entry.length,
                entry.length
            )));
        }
        cut_back(target, entry.length)?;
        tracing::info!(
            file = %target.display(),
            length = entry.length,
            "Cut a file back to its length before an append that was killed"
        );
    }
    // An incomplete journal: its run was killed while writing it, so before appending
    // anything (appending starts once the journal is complete and fsynced).
    remove(&journal)
}

/// Truncates `target` to `length` (if longer) and makes that durable.
fn cut_back(target: &Path, length: u64) -> Result<()> {
    let file = match OpenOptions::new().write(true).open(target) {
        Ok(f) => f,
        // The file was removed since: nothing to cut back.
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("open (to undo a killed append)", target, e)),
    };
    let now = file
        .metadata()
        .map_err(|e| io_err("stat", target, e))?
        .len();
    if now > length {
        file.set_len(length)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_err("cut back (to undo a killed append)", target, e))?;
    }
    Ok(())
}

/// Removes a journal durably (the removal of a journal commits an append).
fn remove(journal: &Path) -> Result<()> {
    match std::fs::remove_file(journal) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("remove the append journal", journal, e)),
    }
    sync_dir(&dir_of(journal)).map_err(|e| io_err("sync the directory of", journal, e))
}

/// An append in progress: its journal is on disk until [`Journal::commit`] or
/// [`Journal::roll_back`].
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    target: PathBuf,
    length: u64,
}

impl Journal {
    /// Records that this process is about to append to `target`, now `length` bytes long,
    /// durably, before anything is appended.
    pub fn begin(target: &Path, length: u64) -> Result<Journal> {
        let path = journal_path(target);
        let me = std::process::id();
        let entry = Entry {
            pid: me,
            start: process_start(me),
            length,
        };
        // `create_new`: two runs appending to one file at once would interleave their rows.
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(DataFusionError::Execution(format!(
                    "`{}` is being appended to by another run (journal {}); wait for it to \
                     finish",
                    target.display(),
                    path.display()
                )));
            }
            Err(e) => return Err(io_err("create the append journal", &path, e)),
        };
        file.write_all(entry.to_text().as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| sync_dir(&dir_of(&path)))
            .map_err(|e| io_err("write the append journal", &path, e))?;
        Ok(Journal {
            path,
            target: target.to_path_buf(),
            length,
        })
    }

    /// Commits the append: `file` (the target, appended to) is fsynced, then the journal
    /// removed.
    pub fn commit(self, file: File) -> Result<()> {
        file.sync_all()
            .map_err(|e| io_err("sync", &self.target, e))?;
        drop(file);
        remove(&self.path)
    }

    /// Undoes the append: cuts the target back and removes the journal. Best effort: what
    /// fails here is left for the next run's [`recover`].
    pub fn roll_back(self) {
        if cut_back(&self.target, self.length).is_ok() {
            let _ = remove(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_journal_reads_back_and_a_torn_one_does_not() {
        let e = Entry {
            pid: 7,
            start: Some(99),
            length: 1234,
        };
        let text = e.to_text();
        assert_eq!(Entry::parse(&text), Some(e));
        for cut in 0..text.len() - 1 {
            assert_eq!(Entry::parse(&text[..cut]), None, "{:?}", &text[..cut]);
        }
    }

    #[test]
    fn a_dead_runs_append_is_cut_back_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "a\n1\n2\nhalf a ro").unwrap();
        let dead = Entry {
            pid: u32::MAX,
            start: None,
            length: 6,
        };
        std::fs::write(journal_path(&target), dead.to_text()).unwrap();
        recover(&target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\n1\n2\n");
        assert!(!journal_path(&target).exists());

        let journal = Journal::begin(&target, 6).unwrap();
        let e = recover(&target).unwrap_err().to_string();
        assert!(
            e.contains("being appended to") && e.contains("out.csv"),
            "{e}"
        );
        std::fs::write(&target, "a\n1\n2\n3\n").unwrap();
        journal.roll_back();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\n1\n2\n");
        assert!(!journal_path(&target).exists());
    }
}
