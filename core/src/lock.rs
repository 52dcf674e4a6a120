//! Waiting for an OS file lock, bounded: the one loop behind the spawn
//! lock, the coordinator's singleton lock and the per-package install
//! locks. OS locks die with their holder, so a killed process never blocks
//! the next one; the bound only covers a live holder that is stuck.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use fslock::LockFile;

use crate::time::{LOCK_POLL_FIRST, LOCK_POLL_MAX};

/// Takes the lock of `path` (writing our pid into it), waiting up to
/// `wait`. `on_contended` runs once when another process holds it. `None`
/// when it was still held at the deadline.
pub fn lock_within(
    path: &Path,
    wait: Duration,
    on_contended: &mut dyn FnMut(),
) -> io::Result<Option<LockFile>> {
    let mut lock = LockFile::open(path)?;
    let deadline = Instant::now() + wait;
    let mut pause = LOCK_POLL_FIRST;
    let mut contended = false;
    loop {
        if lock.try_lock_with_pid()? {
            return Ok(Some(lock));
        }
        if !contended {
            contended = true;
            on_contended();
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(LOCK_POLL_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_times_out_and_a_released_one_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock_within(&path, Duration::ZERO, &mut || {}).unwrap();
        assert!(held.is_some());
        // flock locks are per open file: a second open contends.
        let mut told = 0;
        let again = lock_within(&path, Duration::from_millis(30), &mut || told += 1).unwrap();
        assert!(again.is_none());
        assert_eq!(told, 1);
        drop(held);
        assert!(
            lock_within(&path, Duration::ZERO, &mut || {})
                .unwrap()
                .is_some()
        );
    }
}
