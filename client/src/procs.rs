//! Looking at and ending coordinator processes by pid.
//!
//! Hazard: pids are reused. A pid from `coordinator.json` or a welcome may
//! by now belong to an unrelated process, so nothing is killed unless its
//! command line shows it is `fbuild-coordinator --home <this home>`. Where
//! that cannot be checked (no /proc), nothing is killed.

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `pid` is a live process (a zombie is not: coordinators are
/// reparented to init, which may reap them late).
pub fn is_alive(pid: u32) -> bool {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        return !matches!(state, Some('Z') | Some('X'));
    }
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks existence and permission.
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    false
}

/// Whether `pid` is a coordinator serving `home` (Linux: from /proc).
pub fn serves_home(pid: u32, home: &Path) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let is_coordinator = args
        .first()
        .map(|a| a.ends_with(crate::spawn::COORDINATOR_BIN.as_bytes()))
        .unwrap_or(false);
    let home = home.as_os_str().as_encoded_bytes();
    is_coordinator && args.windows(2).any(|w| w[0] == b"--home" && w[1] == home)
}

/// Waits until `pid` is gone; false if it is still alive after `timeout`.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
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
    wait_gone(pid, Duration::from_secs(2))
}
