//! Process checks on Unix: /proc where there is one, else `kill(pid, 0)`.

use std::path::PathBuf;

/// Whether `pid` is a live process (a zombie is not: daemons are
/// reparented to init, which may reap them late).
pub fn is_alive(pid: u32) -> bool {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        return !matches!(state, Some('Z') | Some('X'));
    }
    // SAFETY: signal 0 only checks existence and permission.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Ends `pid` at once (SIGKILL). The caller has checked what it is.
pub fn kill(pid: u32) {
    // SAFETY: plain kill(2).
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// The arguments `pid` was started with (`argv[0]` first), if readable
/// (Linux: /proc).
pub fn cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args: Vec<Vec<u8>> = raw.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    if args.last().is_some_and(Vec::is_empty) {
        args.pop();
    }
    Some(args)
}

/// The program `pid` runs: its first argument.
pub fn program(pid: u32) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let first = cmdline(pid)?.into_iter().next()?;
    Some(PathBuf::from(std::ffi::OsString::from_vec(first)))
}
