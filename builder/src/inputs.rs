//! A build's look at the files its outputs are made from: each file's
//! stamp (size, mtime) and, for the project's own files, its text key
//! ([`crate::text_key`]), read once per build and kept as they were
//! *before* the compiles that used them.
//!
//! The hazard (seen: a file saved while its compile ran was never
//! compiled again): stamps taken after a compile describe a file the
//! compiler may not have seen. So every input known before a compile
//! (its source, the inputs of its last record) is read before any
//! compile starts ([`Inputs::before`]), and the build's clock is then read
//! from the file system ([`Inputs::start_clock`]). An input first seen in
//! a depfile afterwards is read then; if its mtime is not older than the
//! clock, it may have changed during the build and is recorded as
//! unsettled ([`Stamp::UNSETTLED`]), so the next build compiles again
//! (cargo records input times as of the build's start for the same
//! reason).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What says a file changed: its size and mtime and, on Unix, its inode
/// and ctime (a file copied in with the same size and mtime, or a link
/// pointed at another file, is another file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ino: u64,
    #[serde(default, skip_serializing_if = "is_zero_ns")]
    pub ctime_ns: i128,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_ns(n: &i128) -> bool {
    *n == 0
}

impl Stamp {
    /// Recorded for an input that may have changed while its output was
    /// made, or was gone (see above): no file has this stamp, so the
    /// output is out of date at the next build.
    pub const UNSETTLED: Stamp = Stamp {
        size: u64::MAX,
        mtime_ns: 0,
        ino: 0,
        ctime_ns: 0,
    };

    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        let (ino, ctime_ns) = identity(&meta);
        Some(Stamp {
            size: meta.len(),
            mtime_ns,
            ino,
            ctime_ns,
        })
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, i128) {
    use std::os::unix::fs::MetadataExt;
    (
        meta.ino(),
        i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
    )
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, i128) {
    (0, 0)
}

/// The stamps and text keys one build has read, and its clock.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files under here (the project) get text keys.
    root: Option<PathBuf>,
    stamps: HashMap<PathBuf, Option<Stamp>>,
    texts: HashMap<PathBuf, Option<String>>,
    /// The file system's time when compiles began (ns since the epoch).
    clock: Option<i128>,
}

impl Inputs {
    pub fn keyed_under(root: &Path) -> Inputs {
        Inputs {
            root: Some(root.to_path_buf()),
            ..Inputs::default()
        }
    }

    /// The file's stamp as this build first saw it.
    pub fn stamp(&mut self, path: &Path) -> Option<Stamp> {
        self.stamps
            .entry(path.to_path_buf())
            .or_insert_with(|| Stamp::of(path))
            .clone()
    }

    /// The file's text key as this build first saw it, if it is one of the
    /// project's files and has one.
    pub fn text(&mut self, path: &Path) -> Option<String> {
        if !self.keyed(path) {
            return None;
        }
        self.texts
            .entry(path.to_path_buf())
            .or_insert_with(|| read_key(path))
            .clone()
    }

    fn keyed(&self, path: &Path) -> bool {
        self.root
            .as_ref()
            .is_some_and(|root| path.starts_with(root))
    }

    /// Reads `path`'s stamp, then its text key, before the compile that
    /// uses it starts: what is recorded for it after the compile. (In this
    /// order: a save between the two reads pairs an old stamp with the new
    /// text, which only costs a compile, never the other way round.)
    pub fn before(&mut self, path: &Path) {
        self.stamp(path);
        self.text(path);
    }

    /// Reads the file system's clock by writing `marker` (in the build
    /// dir, on the same clock as the project's files); call it after every
    /// [`Inputs::before`] and before the first compile starts.
    pub fn start_clock(&mut self, marker: &Path) -> std::io::Result<()> {
        std::fs::write(marker, b"")?;
        self.clock = Stamp::of(marker).map(|s| s.mtime_ns);
        Ok(())
    }

    /// What to record for `path`, an input of a compile that has finished:
    /// as this build first saw it if it is still so (the compile read that
    /// version), else [`Stamp::UNSETTLED`]; a file first seen now, when it
    /// is older than the clock and did not change while its text key was
    /// read. Seen: a file saved during the build and then undone was taken
    /// as compiled from its first text, while a queued compile had read the
    /// second.
    pub fn settled(&mut self, path: &Path) -> (Stamp, Option<String>) {
        let keyed = self.keyed(path);
        let now = Stamp::of(path);
        if let Some(Some(seen)) = self.stamps.get(path) {
            if now.as_ref() != Some(seen) {
                return (Stamp::UNSETTLED, None);
            }
            if !keyed || self.texts.contains_key(path) {
                let text = self.texts.get(path).cloned().flatten();
                return (seen.clone(), text);
            }
        }
        let Some(first) = now else {
            return (Stamp::UNSETTLED, None);
        };
        let text = if keyed { read_key(path) } else { None };
        let settled = Stamp::of(path).as_ref() == Some(&first)
            && (self.stamps.contains_key(path)
                || self.clock.is_some_and(|clock| first.mtime_ns < clock));
        if !settled {
            return (Stamp::UNSETTLED, None);
        }
        self.texts.insert(path.to_path_buf(), text.clone());
        self.stamps.insert(path.to_path_buf(), Some(first.clone()));
        (first, text)
    }
}

fn read_key(path: &Path) -> Option<String> {
    crate::text_key::text_key(&std::fs::read(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_read_before_are_recorded_as_they_were_or_unsettled() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, old, new) = (
            dir.path().join("kept.h"),
            dir.path().join("old.h"),
            dir.path().join("new.h"),
        );
        std::fs::write(&kept, "int k;\n").unwrap();
        std::fs::write(&old, "int a;\n").unwrap();
        std::fs::write(&new, "int b;\n").unwrap();
        let mut inputs = Inputs::keyed_under(dir.path());
        inputs.before(&kept);
        inputs.before(&old);
        let seen = Stamp::of(&kept).unwrap();
        // Saved while "the compile runs", after the clock started.
        inputs.start_clock(&dir.path().join(".clock")).unwrap();
        std::fs::write(&old, "int a = 2; /* longer */\n").unwrap();
        std::fs::write(&new, "int b = 2; /* longer */\n").unwrap();
        let (stamp, text) = inputs.settled(&kept);
        assert_eq!(stamp, seen, "unchanged: the stamp from before the compile");
        assert_eq!(text, crate::text_key::text_key(b"int k;\n"));
        // Read before, changed since (which version did the compile see?),
        // even if it is changed back: unsettled.
        assert_eq!(inputs.settled(&old), (Stamp::UNSETTLED, None));
        // Not read before, changed since the clock: unsettled.
        assert_eq!(inputs.settled(&new), (Stamp::UNSETTLED, None));
        // Gone by the time the compile ended: unsettled too.
        let gone = dir.path().join("gone.h");
        assert_eq!(inputs.settled(&gone), (Stamp::UNSETTLED, None));
    }

    #[test]
    fn files_older_than_the_clock_are_settled() {
        let dir = tempfile::tempdir().unwrap();
        let header = dir.path().join("h.h");
        std::fs::write(&header, "int h;\n").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&header)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut inputs = Inputs::keyed_under(dir.path());
        inputs.start_clock(&dir.path().join(".clock")).unwrap();
        let (stamp, text) = inputs.settled(&header);
        assert_eq!(Some(stamp), Stamp::of(&header));
        assert!(text.is_some());
    }
}
