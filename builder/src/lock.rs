//! One build of a project at a time: an OS lock on `<build_dir>/.lock`. A
//! second `fbuild build` says it waits, then waits (the lock dies with its
//! holder, so a killed build never blocks the next).

use std::path::Path;

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
        if !lock.try_lock_with_pid()? {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            eprintln!(
                "fbuild: another build of this project is running (pid {}); waiting for it",
                holder.trim()
            );
            lock.lock_with_pid()?;
        }
        Ok(ProjectLock(lock))
    }
}
