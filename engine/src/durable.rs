//! Publishing local files so that a `kill -9` or a power cut leaves either the old file or
//! the new one: temporary names that the next run recognises and sweeps, and the fsyncs
//! that make a rename mean something after a crash.
//!
//! A rename is atomic for processes, but without fsyncs a crash can persist the rename
//! before the data it points to (ext4, XFS and btrfs may reorder them), leaving an empty or
//! partly zero file under the target's name. So the file is fsynced before the rename, and
//! its directory after it (otherwise the rename itself may be lost, and the run that
//! reported success finds the old file on the next boot).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary name for writing `target`, in its directory:
/// `.NAME.fust-PID-SEQ-STAMP.tmp`. Hidden, unique within the process (the job service runs
/// jobs concurrently, possibly onto the same target), and recognisable by
/// [`sweep_stale_temps`] as belonging to `target` and to process `PID`.
pub fn temp_path(target: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = file_name(target);
    dir_of(target).join(format!(
        ".{name}.fust-{}-{seq}-{stamp}.tmp",
        std::process::id()
    ))
}

/// The directory `target` is in (`.` for a bare file name).
pub fn dir_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Makes the directory entries of `dir` (a rename, a creation, a removal in it) durable.
/// Unix only: elsewhere a directory cannot be opened as a file, and this does nothing.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Publishes `file`, written at `temp`, as `target`: fsync the file, rename, fsync the
/// directory. After it returns, `target` holds the new content even after a power cut.
pub fn publish(file: File, temp: &Path, target: &Path) -> std::io::Result<()> {
    file.sync_all()?;
    drop(file);
    std::fs::rename(temp, target)?;
    sync_dir(&dir_of(target))
}

/// Replaces `target` with `bytes` durably (temporary file, fsync, rename, fsync of the
/// directory). For small files such as the state file.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    sweep_stale_temps(target);
    let temp = temp_path(target);
    let result = File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).map(|()| f))
        .and_then(|f| publish(f, &temp, target));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Removes the temporary files ([`temp_path`]) that earlier runs writing `target` left
/// behind when they were killed (`kill -9`, a power cut): those whose process is gone. A
/// temp of a live process is another run in progress and stays. Best effort: a file that
/// cannot be removed is left for the next run.
pub fn sweep_stale_temps(target: &Path) {
    let prefix = format!(".{}.fust-", file_name(target));
    let dir = dir_of(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest
            .strip_suffix(".tmp")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid, None) {
            tracing::info!(file = %entry.path().display(), "Removing a temporary file left by a killed run");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// When the current process started, in clock ticks since boot (Linux: field 22 of
/// `/proc/self/stat`); `None` elsewhere. With the pid it names a process even after the
/// pid is reused.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` exists (and, given `start`, is the one that started then rather
/// than a later process with the same pid). Linux reads `/proc`; elsewhere every process
/// is assumed alive, so nothing is removed that might be in use.
pub fn process_alive(pid: u32, start: Option<u64>) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    if !proc.join(pid.to_string()).exists() {
        return false;
    }
    match (start, process_start(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn write_atomically_replaces_and_sweeps_dead_temps() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("s.json");
        // A temp of a pid that cannot exist (above the Linux maximum), and another file's.
        let dead = dir.path().join(".s.json.fust-4294967295-0-1.tmp");
        let other = dir.path().join(".t.json.fust-4294967295-0-1.tmp");
        std::fs::write(&dead, "x").unwrap();
        std::fs::write(&other, "x").unwrap();
        write_atomically(&target, b"one").unwrap();
        write_atomically(&target, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
        assert!(!dead.exists() || !Path::new("/proc").is_dir());
        assert!(other.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn this_process_is_alive_with_its_start_time() {
        let me = std::process::id();
        let start = process_start(me);
        assert!(process_alive(me, start));
        if let Some(s) = start {
            assert!(!process_alive(me, Some(s + 1)));
        }
        assert!(!process_alive(u32::MAX, None) || !Path::new("/proc").is_dir());
    }
}
