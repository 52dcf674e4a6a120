//! A command's process group: started in one of its own, so that stopping
//! it stops what it started too (git's `git-remote-http`, a test program's
//! forked child), and, on Linux, killed when the thread that started it
//! dies. Elsewhere only the command itself is started and killed.

use std::process::{Child, Command};

/// Makes `cmd` start a process group of its own, killed with this process
/// (Linux).
pub fn own_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = cmd;
}

/// Kills `child` and every process of the group [`own_group`] made for
/// it, and reaps `child`.
pub fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    // SAFETY: kill(2) on a process group id; a group that is gone is ESRCH.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills what is left of the group [`own_group`] made for `child`, which
/// has been waited for (what it started and left running). A group whose
/// members are all gone is not there to signal.
pub fn kill_rest(child: &Child) {
    #[cfg(unix)]
    // SAFETY: kill(2) on a process group id; a group that is gone is ESRCH.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = child;
}
