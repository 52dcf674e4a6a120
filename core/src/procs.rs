//! Processes by pid: the one place that reads another process's state, for
//! the client (is the coordinator alive, is it ours) and the coordinator
//! (which zccache daemons serve our cache). Linux reads /proc; other Unix
//! falls back to `kill(pid, 0)`; Windows asks the process handle
//! (`GetExitCodeProcess`, `QueryFullProcessImageNameW`) and cannot read
//! another process's arguments, so scans by arguments find nothing there;
//! there it also tells when a process was created and which user it runs
//! as (`GetProcessTimes`, its token's user SID).

use std::time::{Duration, Instant};

#[cfg(unix)]
#[path = "procs_unix.rs"]
mod os;
#[cfg(windows)]
#[path = "procs_windows.rs"]
mod os;

pub use os::{cmdline, is_alive, kill, program};
#[cfg(windows)]
pub use os::{created, current_user_sid, runs_as_current_user};

/// Waits until `pid` is gone; false if it is still alive after `timeout`.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(crate::time::GONE_POLL);
    }
    true
}

/// Live processes whose command line satisfies `matches` (Linux only).
pub fn pids_where(matches: impl Fn(&[Vec<u8>]) -> bool) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| cmdline(*pid).is_some_and(|args| matches(&args)) && is_alive(*pid))
        .collect()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn finds_itself() {
        let me = std::process::id();
        assert!(is_alive(me));
        let args = cmdline(me).unwrap();
        let exe = std::env::args_os().next().unwrap();
        assert_eq!(args[0], exe.as_encoded_bytes());
        assert!(pids_where(|a| a.first() == Some(&args[0])).contains(&me));
        assert_eq!(program(me).unwrap().as_os_str(), exe.as_os_str());
    }
}
