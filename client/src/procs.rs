//! Looking at and ending coordinator processes by pid.
//!
//! Hazard: pids are reused. A pid from `coordinator.json` or a welcome may
//! by now belong to an unrelated process, so nothing is killed unless it is
//! a coordinator: on Linux its command line must read
//! `fbuild-coordinator --home <this home>`; on Windows, where another
//! process's arguments are not readable, its image must be
//! `fbuild-coordinator.exe`, and it must be the process this home's
//! `coordinator.json` names, created no later than the `started` time
//! recorded there (a process that got a dead coordinator's pid was created
//! after that one had started). Where neither can be checked, nothing is
//! killed.

use std::path::Path;

pub use fbuild_core::procs::{is_alive, wait_gone};

/// The coordinator's executable (`.exe` on Windows).
pub const COORDINATOR_BIN: &str = "fbuild-coordinator";

/// Whether `pid` is a coordinator serving `home`.
#[cfg(not(windows))]
pub fn serves_home(pid: u32, home: &Path) -> bool {
    let Some(args) = fbuild_core::procs::cmdline(pid) else {
        return false;
    };
    let is_coordinator = args
        .first()
        .map(|a| a.ends_with(COORDINATOR_BIN.as_bytes()))
        .unwrap_or(false);
    let home = home.as_os_str().as_encoded_bytes();
    is_coordinator && args.windows(2).any(|w| w[0] == b"--home" && w[1] == home)
}

/// Whether `pid` is a coordinator serving `home`.
#[cfg(windows)]
pub fn serves_home(pid: u32, home: &Path) -> bool {
    let is_coordinator = fbuild_core::procs::program(pid).is_some_and(|image| {
        image
            .file_stem()
            .is_some_and(|stem| stem.eq_ignore_ascii_case(COORDINATOR_BIN))
    });
    is_coordinator && is_recorded_start(pid, home)
}

/// Whether `home`'s `coordinator.json` names `pid` and the process was
/// created by its recorded start (it writes `started` after its creation,
/// once it listens; a process given its pid later was created after it).
#[cfg(windows)]
fn is_recorded_start(pid: u32, home: &Path) -> bool {
    use std::time::{Duration, UNIX_EPOCH};
    let info_file = fbuild_core::Home::new(home, None).info_file();
    let Ok(info) = fbuild_core::info::CoordinatorInfo::read(&info_file) else {
        return false;
    };
    let Some(created) = fbuild_core::procs::created(pid) else {
        return false;
    };
    let started = UNIX_EPOCH + Duration::from_secs(info.started);
    info.pid == pid && created <= started + fbuild_core::time::START_TOLERANCE
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
