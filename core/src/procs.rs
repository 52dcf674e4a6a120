//! Processes by pid, from /proc (Linux; elsewhere the scans find nothing
//! and liveness falls back to `kill(pid, 0)`): the one place that reads
//! another process's state, for the client (is the coordinator alive, is
//! it ours) and the coordinator (which zccache daemons serve our cache).

use std::time::{Duration, Instant};

/// Whether `pid` is a live process (a zombie is not: daemons are
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

/// The arguments `pid` was started with (`argv[0]` first), if readable.
pub fn cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args: Vec<Vec<u8>> = raw.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    if args.last().is_some_and(Vec::is_empty) {
        args.pop();
    }
    Some(args)
}

/// Live processes whose command line satisfies `matches`.
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
    }
}
