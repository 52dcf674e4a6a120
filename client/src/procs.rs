//! Looking at and ending coordinator processes by pid.
//!
//! Hazard: pids are reused. A pid from `coordinator.json` or a welcome may
//! by now belong to an unrelated process, so nothing is killed unless it is
//! a coordinator: on Linux its command line must read
//! `fbuild-coordinator --home <this home>`; on Windows, where another
//! process's arguments are not readable, its image must be
//! `fbuild-coordinator.exe` (the pid came from this home's files). Where
//! neither can be checked, nothing is killed.

use std::path::Path;

pub use fbuild_core::procs::{is_alive, wait_gone};

/// Whether `pid` is a coordinator serving `home`.
pub fn serves_home(pid: u32, home: &Path) -> bool {
    if cfg!(windows) {
        return fbuild_core::procs::program(pid).is_some_and(|image| {
            image
                .file_stem()
                .is_some_and(|stem| stem.eq_ignore_ascii_case(crate::spawn::COORDINATOR_BIN))
        });
    }
    let Some(args) = fbuild_core::procs::cmdline(pid) else {
        return false;
    };
    let is_coordinator = args
        .first()
        .map(|a| a.ends_with(crate::spawn::COORDINATOR_BIN.as_bytes()))
        .unwrap_or(false);
    let home = home.as_os_str().as_encoded_bytes();
    is_coordinator && args.windows(2).any(|w| w[0] == b"--home" && w[1] == home)
}

/// Kills `pid` if it is a coordinator of `home`, and waits for it to go.
/// Returns whether it is gone.
pub fn kill_coordinator(pid: u32, home: &Path) -> bool {
    if !is_alive(pid) {
        return true;
    }
    if !serves_home(pid, home) {
        return false;
    }
    fbuild_core::procs::kill(pid);
    wait_gone(pid, fbuild_core::time::KILL_WAIT)
}
