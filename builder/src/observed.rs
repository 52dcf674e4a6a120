//! What the sources phase learned from the file system, so a later build
//! can tell whether its result still holds (`sources::collect_remembered`):
//! each file read, folder listed and path probed, with how it stood then
//! ([`Seen`]: missing, or kind, size, mtime and inode). While a log is
//! open on this thread ([`log_into`]), the reads below record what they
//! look at before they look; without one they are plain reads.
//!
//! A folder's mtime changes when an entry in it is added, removed or
//! renamed; a file's when it is written; the inode when a path is replaced
//! (a link retargeted, a folder swapped for another).

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// How a path stood, as far as a build can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    Missing,
    File { len: u64, mtime: u128, ino: u64 },
    Dir { mtime: u128, ino: u64 },
    Other,
}

impl Seen {
    /// `path` now (links followed).
    pub fn of(path: &Path) -> Seen {
        let Ok(meta) = std::fs::metadata(path) else {
            return Seen::Missing;
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let ino = inode(&meta);
        if meta.is_file() {
            Seen::File {
                len: meta.len(),
                mtime,
                ino,
            }
        } else if meta.is_dir() {
            Seen::Dir { mtime, ino }
        } else {
            Seen::Other
        }
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// Paths and how they stood when first looked at.
pub type Log = Vec<(PathBuf, Seen)>;

pub use crate::report::Said;

thread_local! {
    static LOG: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// Runs `f` with a log open on this thread; returns its result, what it
/// looked at and what it said (`report::capturing`).
pub fn log_into<T>(f: impl FnOnce() -> T) -> (T, Log, Said) {
    let outer = LOG.with(|l| l.borrow_mut().replace(Vec::new()));
    let (out, said) = crate::report::capturing(f);
    let log = LOG
        .with(|l| std::mem::replace(&mut *l.borrow_mut(), outer))
        .unwrap_or_default();
    (out, log, said)
}

/// Whether every path of `log` stands as it did.
pub fn unchanged(log: &Log) -> bool {
    log.iter().all(|(path, seen)| Seen::of(path) == *seen)
}

/// Notes `path` as it stands now (when a log is open) and returns that.
pub fn record(path: &Path) -> Seen {
    let seen = Seen::of(path);
    LOG.with(|l| {
        if let Some(log) = l.borrow_mut().as_mut() {
            log.push((path.to_path_buf(), seen));
        }
    });
    seen
}

pub fn read_to_string(path: &Path) -> io::Result<String> {
    record(path);
    std::fs::read_to_string(path)
}

pub fn is_file(path: &Path) -> bool {
    matches!(record(path), Seen::File { .. })
}

pub fn is_dir(path: &Path) -> bool {
    matches!(record(path), Seen::Dir { .. })
}

pub fn read_dir(path: &Path) -> io::Result<std::fs::ReadDir> {
    record(path);
    std::fs::read_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_sees_files_added_edited_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.h"), "one").unwrap();
        let ((), log, said) = log_into(|| {
            assert_eq!(read_to_string(&d.join("a.h")).unwrap(), "one");
            assert!(!is_file(&d.join("b.h")));
            assert!(read_dir(d).is_ok());
            crate::report::say(crate::report::Kind::Warning, "a warning");
        });
        assert_eq!(log.len(), 3);
        assert_eq!(
            said,
            [(crate::report::Kind::Warning, "a warning".to_string())]
        );
        assert!(unchanged(&log));
        // Not logged outside `log_into`.
        assert!(!is_file(&d.join("c.h")));
        std::fs::write(d.join("b.h"), "").unwrap();
        assert!(!unchanged(&log), "a probed file appeared");
        std::fs::remove_file(d.join("b.h")).unwrap();
        let ((), log, _) = log_into(|| {
            read_to_string(&d.join("a.h")).unwrap();
        });
        std::fs::write(d.join("a.h.new"), "two").unwrap();
        std::fs::rename(d.join("a.h.new"), d.join("a.h")).unwrap();
        assert!(!unchanged(&log), "a file replaced");
    }
}
