//! What the sources phase learned from the file system, so a later build
//! can tell whether its result still holds (`sources::collect_remembered`):
//! each file read, folder listed and path probed, with how it stood then
//! ([`Seen`]: missing, or kind, size, mtime, ctime, device and inode).
//! While a log is open on this thread ([`log_into`]), the reads below
//! record what they look at before they look; without one they are plain
//! reads. A read that fails marks the log ([`Log::failed`]): a walk that
//! could not read something is not remembered (the next build tries again
//! once the permissions are fixed).
//!
//! A folder's mtime changes when an entry in it is added, removed or
//! renamed; a file's when it is written; the ctime also on `chmod`,
//! `chown` and a write that restores the mtime (`cp -p`, `touch -r`); the
//! inode when a path is replaced (a link retargeted, a folder swapped).

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// How a path stood, as far as a build can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    Missing,
    File { len: u64, mtime: u128, id: Id },
    Dir { mtime: u128, id: Id },
    Other,
}

/// What tells a path's metadata changed besides its mtime and size: its
/// ctime (ns), device and inode (Unix; zeros elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Id {
    pub ctime: i128,
    pub dev: u64,
    pub ino: u64,
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
        let id = id(&meta);
        if meta.is_file() {
            Seen::File {
                len: meta.len(),
                mtime,
                id,
            }
        } else if meta.is_dir() {
            Seen::Dir { mtime, id }
        } else {
            Seen::Other
        }
    }

    /// Its mtime, in ns since 1970 (0 for none).
    pub fn mtime(&self) -> u128 {
        match self {
            Seen::File { mtime, .. } | Seen::Dir { mtime, .. } => *mtime,
            _ => 0,
        }
    }
}

#[cfg(unix)]
fn id(meta: &std::fs::Metadata) -> Id {
    use std::os::unix::fs::MetadataExt;
    Id {
        ctime: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

#[cfg(not(unix))]
fn id(_meta: &std::fs::Metadata) -> Id {
    Id {
        ctime: 0,
        dev: 0,
        ino: 0,
    }
}

/// Paths and how they stood when first looked at, and whether a read
/// failed.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Log {
    pub seen: Vec<(PathBuf, Seen)>,
    #[serde(skip)]
    pub failed: bool,
}

pub use crate::report::Said;

thread_local! {
    static LOG: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// Runs `f` with a log open on this thread; returns its result, what it
/// looked at and what it said (`report::capturing`).
pub fn log_into<T>(f: impl FnOnce() -> T) -> (T, Log, Said) {
    let outer = LOG.with(|l| l.borrow_mut().replace(Log::default()));
    let (out, said) = crate::report::capturing(f);
    let log = LOG
        .with(|l| std::mem::replace(&mut *l.borrow_mut(), outer))
        .unwrap_or_default();
    (out, log, said)
}

/// Whether every path of `log` stands as it did.
pub fn unchanged(log: &Log) -> bool {
    log.seen.iter().all(|(path, seen)| Seen::of(path) == *seen)
}

/// Marks the open log: a read failed.
fn failed() {
    LOG.with(|l| {
        if let Some(log) = l.borrow_mut().as_mut() {
            log.failed = true;
        }
    });
}

/// Notes `path` as it stands now (when a log is open) and returns that.
pub fn record(path: &Path) -> Seen {
    let seen = Seen::of(path);
    LOG.with(|l| {
        if let Some(log) = l.borrow_mut().as_mut() {
            log.seen.push((path.to_path_buf(), seen));
        }
    });
    seen
}

pub fn read_to_string(path: &Path) -> io::Result<String> {
    record(path);
    std::fs::read_to_string(path).inspect_err(|_| failed())
}

pub fn is_file(path: &Path) -> bool {
    matches!(record(path), Seen::File { .. })
}

pub fn is_dir(path: &Path) -> bool {
    matches!(record(path), Seen::Dir { .. })
}

pub fn read_dir(path: &Path) -> io::Result<std::fs::ReadDir> {
    record(path);
    std::fs::read_dir(path).inspect_err(|e| {
        if e.kind() != io::ErrorKind::NotFound {
            failed();
        }
    })
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
        assert_eq!(log.seen.len(), 3);
        assert!(!log.failed);
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
        // Its mode changed (ctime): changed.
        #[cfg(unix)]
        {
            let ((), log, _) = log_into(|| {
                read_to_string(&d.join("a.h")).unwrap();
            });
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d.join("a.h"), std::fs::Permissions::from_mode(0o600))
                .unwrap();
            assert!(!unchanged(&log), "its mode changed");
        }
        // A read that fails marks the log.
        let ((), log, _) = log_into(|| {
            assert!(read_to_string(&d.join("nothing")).is_err());
        });
        assert!(log.failed);
    }
}
