//! One build of a project at a time: an OS lock on `<build_dir>/.lock`. A
//! second `fbuild build` says it waits, then waits (the lock dies with its
//! holder, so a killed build never blocks the next).

use std::path::Path;

use crate::report::{self, Kind};
use anyhow::{Context, Result};
use fslock::LockFile;

pub struct ProjectLock(#[allow(dead_code)] LockFile);

impl ProjectLock {
    pub fn acquire(build_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(build_dir)
            .with_context(|| format!("creating {}", build_dir.display()))?;
        let path = build_dir.join(".lock");
        let mut lock =
            LockFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
        // The holder's pid, for the message: beside the lock, unsynced
        // (fslock's own pid write fsyncs, a few ms on every build).
        let owner = build_dir.join(".lock-owner");
        if !lock.try_lock()? {
            let holder = std::fs::read_to_string(&owner).unwrap_or_default();
            report::say(
                Kind::Note,
                format!(
                    "fbuild: another build of this project is running (pid {}); waiting for it",
                    holder.trim()
                ),
            );
            lock.lock()?;
        }
        let _ = std::fs::write(&owner, std::process::id().to_string());
        Ok(ProjectLock(lock))
    }
}
