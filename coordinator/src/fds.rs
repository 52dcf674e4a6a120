//! File descriptors the coordinator inherits, and the readiness pipe.
//!
//! Hazard: the coordinator is usually started from inside a build: a shim
//! run by `make -j` holds the jobserver pipe, a compile run by ninja holds
//! ninja's output pipe. A long-lived daemon that keeps such an fd open makes
//! make wait for a jobserver token that never returns, or ninja wait for EOF
//! on its pipe forever (sccache's jobserver.rs documents the same trap). So
//! the first thing the coordinator does is close every fd above stderr except
//! the readiness pipe, whoever started it and whatever they forgot to close.
//! stdin/stdout/stderr are /dev/null when a client spawns us.

use std::fs::File;
use std::io::Write;

#[cfg(unix)]
use fbuild_core::settings::READY_FD_VAR;

/// The write end of the pipe the spawning client waits on. Exactly one line
/// goes through it: `ready <pid>` or `error <message>`; then it is closed.
pub struct ReadyPipe(Option<File>);

impl ReadyPipe {
    /// Takes the pipe named by `FBUILD_READY_FD` and removes the variable, so
    /// nothing the coordinator starts later inherits it.
    #[cfg(unix)]
    pub fn take_from_env() -> Self {
        use std::os::fd::FromRawFd;
        let fd = std::env::var(READY_FD_VAR)
            .ok()
            .and_then(|v| v.parse::<i32>().ok());
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::remove_var(READY_FD_VAR) };
        let Some(fd) = fd.filter(|fd| *fd > 2) else {
            return ReadyPipe(None);
        };
        // SAFETY: fcntl on an arbitrary fd number only reports EBADF if it is
        // not open; we take ownership only of an open fd handed to us.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 {
                return ReadyPipe(None);
            }
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            ReadyPipe(Some(File::from_raw_fd(fd)))
        }
    }

    #[cfg(not(unix))]
    pub fn take_from_env() -> Self {
        ReadyPipe(None)
    }

    #[cfg(unix)]
    pub fn raw_fd(&self) -> Option<i32> {
        use std::os::fd::AsRawFd;
        self.0.as_ref().map(|f| f.as_raw_fd())
    }

    #[cfg(not(unix))]
    pub fn raw_fd(&self) -> Option<i32> {
        None
    }

    pub fn ready(&mut self, pid: u32) {
        self.send(&format!("ready {pid}\n"));
    }

    pub fn fail(&mut self, message: &str) {
        self.send(&format!("error {}\n", message.replace('\n', " ")));
    }

    fn send(&mut self, line: &str) {
        if let Some(mut pipe) = self.0.take() {
            // The client may have given up already; nothing to do then.
            let _ = pipe.write_all(line.as_bytes());
        }
    }
}

/// Closes every fd above 2 except `keep`.
#[cfg(target_os = "linux")]
pub fn close_inherited(keep: Option<i32>) {
    let fds: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => (3..1024).collect(),
    };
    close_all(fds, keep);
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn close_inherited(keep: Option<i32>) {
    // SAFETY: getdtablesize has no preconditions.
    let max = unsafe { libc::getdtablesize() }.clamp(3, 65536);
    close_all((3..max).collect(), keep);
}

#[cfg(not(unix))]
pub fn close_inherited(_keep: Option<i32>) {}

#[cfg(unix)]
fn close_all(fds: Vec<i32>, keep: Option<i32>) {
    for fd in fds.into_iter().filter(|fd| *fd > 2 && Some(*fd) != keep) {
        // SAFETY: single-threaded start-up; nothing in this process owns
        // these fds yet (std's own fds are opened later). EBADF (the
        // read_dir's own, already closed fd) is harmless.
        unsafe { libc::close(fd) };
    }
}
