//! Looking at and ending coordinator processes by pid.
//!
//! Hazard: pids are reused. A pid from `coordinator.json` or a welcome may
//! by now belong to an unrelated process, so nothing is killed unless its
//! command line shows it is `fbuild-coordinator --home <this home>`. Where
//! that cannot be checked (no /proc), nothing is killed.

use std::path::Path;

pub use fbuild_core::procs::{is_alive, wait_gone};

/// Whether `pid` is a coordinator serving `home` (Linux: from /proc).
pub fn serves_home(pid: u32, home: &Path) -> bool {
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

/// SIGKILLs `pid` if it is a coordinator of `home`, and waits for it to go.
/// Returns whether it is gone.
pub fn kill_coordinator(pid: u32, home: &Path) -> bool {
    if !is_alive(pid) {
        return true;
    }
    if !serves_home(pid, home) {
        return false;
    }
    #[cfg(unix)]
    // SAFETY: plain kill(2) on a pid we just verified.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
    wait_gone(pid, fbuild_core::time::KILL_WAIT)
}
