//! The singleton: an OS file lock (`coordinator/coordinator.lock`) held for
//! the coordinator's whole life, and the `coordinator.json` it publishes.
//!
//! Staleness rules, in order:
//! 1. The lock is an OS lock (flock): it dies with its process, so a
//!    coordinator killed with -9 never blocks the next one.
//! 2. Whoever holds the lock owns the socket path: a socket file found there
//!    is a dead coordinator's and is removed before binding.
//! 3. `coordinator.json` is written atomically after the socket listens and
//!    removed on exit only if it still names this process; a stale one is
//!    overwritten by the next coordinator and never trusted by clients
//!    without checking the pid (see `fbuild-client`).

use fbuild_core::lock::lock_within;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fbuild_core::Home;
use fbuild_core::info::CoordinatorInfo;
use fslock::LockFile;

pub struct Singleton {
    _lock: LockFile,
    info_path: PathBuf,
}

impl Singleton {
    /// Takes the singleton lock, waiting up to `wait` for a predecessor that
    /// is still shutting down.
    pub fn acquire(home: &Home, wait: Duration) -> Result<Self> {
        let path = home.singleton_lock();
        let Some(lock) = lock_within(&path, wait, &mut || {})
            .with_context(|| format!("locking {}", path.display()))?
        else {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "another coordinator (pid {}) holds {} and did not exit within {:?}; \
                 stop it with `fbuild daemon stop`",
                holder.trim(),
                path.display(),
                wait
            );
        };
        Ok(Singleton {
            _lock: lock,
            info_path: home.info_file(),
        })
    }

    pub fn publish(&self, info: &CoordinatorInfo) -> Result<()> {
        info.write(&self.info_path)
            .context("publishing coordinator.json")
    }
}

impl Drop for Singleton {
    fn drop(&mut self) {
        let ours = CoordinatorInfo::read(&self.info_path)
            .map(|i| i.pid == std::process::id())
            .unwrap_or(false);
        if ours {
            let _ = std::fs::remove_file(&self.info_path);
        }
    }
}
