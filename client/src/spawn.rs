//! Starting a coordinator: the spawn lock, finding the binary, spawning it
//! detached, and waiting for its readiness line.
//!
//! Hazards, and what we do about each:
//! * 64 compiles of one `make -j` find no coordinator at the same instant.
//!   Only the holder of `coordinator/spawn.lock` spawns; the others wait for
//!   the lock and re-check, finding the winner's coordinator.
//! * The coordinator must outlive the build and hold nothing of it: it is
//!   double-forked (setsid, then fork, so it is no session leader, never gets
//!   a controlling terminal, and is reparented to init instead of becoming a
//!   zombie child of the compiler this process execs into), its stdio is
//!   /dev/null, its cwd is its own dir, and it closes every inherited fd at
//!   start (see the coordinator's fds.rs).
//! * Windows has no fork: the coordinator is created detached, inheriting
//!   no handle (the tool seam's `detached`), and its info file naming its
//!   pid is the readiness signal. A dead coordinator's info file naming a
//!   pid the OS has since given to our child would fake it, so before
//!   spawning, an info file that names no live coordinator of this home is
//!   removed (on every OS: it describes nothing).
//! * Readiness (Unix) is a pipe, not polling: the coordinator writes `ready <pid>`
//!   once it listens, or `error <why>`; if it dies first, the pipe reaches
//!   EOF at once. The wait is bounded by SPAWN_READY_TIMEOUT.

use fbuild_core::lock::lock_within;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fbuild_core::Settings;
use fbuild_core::home::BIN_DIR_FILE;
#[cfg(unix)]
use fbuild_core::settings::READY_FD_VAR;
use fbuild_core::time::SPAWN_READY_TIMEOUT;
use fslock::LockFile;

use crate::error::ClientError;

pub use crate::procs::COORDINATOR_BIN;

/// Held while this process checks for and starts a coordinator.
pub(crate) struct SpawnLock(#[allow(dead_code)] LockFile);

impl SpawnLock {
    pub fn acquire(settings: &Settings, timeout: Duration) -> Result<Self, ClientError> {
        let home = &settings.home;
        home.prepare_coordinator_dir()
            .map_err(|cause| ClientError::Home {
                home: home.root().to_path_buf(),
                what: format!("creating {}", home.coordinator_dir().display()),
                cause,
            })?;
        let path = home.spawn_lock();
        match lock_within(&path, timeout, &mut || {}) {
            Ok(Some(lock)) => Ok(SpawnLock(lock)),
            Ok(None) => Err(ClientError::Timeout {
                what: format!("the spawn lock {}", path.display()),
                waited: timeout,
            }),
            Err(cause) => Err(ClientError::Home {
                home: home.root().to_path_buf(),
                what: format!("locking {}", path.display()),
                cause,
            }),
        }
    }
}

/// `fbuild-coordinator` next to the running executable, else in the folder
/// its [`BIN_DIR_FILE`] names (a shim in `FBUILD_HOME/shims`), else on PATH.
pub fn locate_coordinator() -> Result<PathBuf, ClientError> {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = format!("{COORDINATOR_BIN}{}", std::env::consts::EXE_SUFFIX);
    let beside = dir.join(&file);
    if beside.is_file() {
        return Ok(beside);
    }
    let recorded = std::fs::read_to_string(dir.join(BIN_DIR_FILE))
        .ok()
        .map(|text| PathBuf::from(text.trim_end_matches(['\r', '\n'])).join(&file))
        .filter(|bin| bin.is_absolute() && bin.is_file());
    if let Some(bin) = recorded {
        return Ok(bin);
    }
    which::which(COORDINATOR_BIN).map_err(|_| ClientError::CoordinatorMissing { beside: dir })
}

/// Spawns a detached coordinator for `settings.home` and waits until it is
/// ready. Returns its pid. Called under the spawn lock, when no current
/// coordinator answered.
pub(crate) fn start_coordinator(settings: &Settings, bin: &Path) -> Result<u32, ClientError> {
    forget_dead_coordinator(settings);
    spawn_and_wait(settings, bin)
}

/// Removes `coordinator.json` unless it names a live coordinator of this
/// home (one still starting or stopping keeps its file).
fn forget_dead_coordinator(settings: &Settings) {
    let path = settings.home.info_file();
    let live = fbuild_core::info::CoordinatorInfo::read(&path)
        .is_ok_and(|info| crate::procs::serves_home(info.pid, settings.home.root()));
    if !live {
        let _ = std::fs::remove_file(&path);
    }
}

/// Unix: double-forked (see above); readiness comes through a pipe.
#[cfg(unix)]
fn spawn_and_wait(settings: &Settings, bin: &Path) -> Result<u32, ClientError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;

    let fail = |reason: String| ClientError::Spawn {
        bin: bin.to_path_buf(),
        reason,
    };
    let (read_end, write_end) = pipe().map_err(|e| fail(format!("creating a pipe: {e}")))?;
    let write_fd = write_end.as_raw_fd();
    let home = settings.home.root();
    let mut cmd = fbuild_core::tool::Tool::new(bin)
        .arg("--home")
        .arg(home)
        .current_dir(settings.home.coordinator_dir())
        .env(READY_FD_VAR, write_fd.to_string())
        .command();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec we only call async-signal-safe
    // functions (setsid, fork, _exit, fcntl) and allocate nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            let flags = libc::fcntl(write_fd, libc::F_GETFD);
            if flags == -1 || libc::fcntl(write_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    drop(write_end);
    // The intermediate process exits as soon as it has forked.
    let _ = child.wait();
    let line = read_ready_line(read_end, SPAWN_READY_TIMEOUT).map_err(fail)?;
    match line.split_once(' ') {
        Some(("ready", pid)) => pid
            .trim()
            .parse()
            .map_err(|_| fail(format!("bad readiness line {line:?}"))),
        Some(("error", why)) => Err(fail(why.trim().to_string())),
        _ => Err(fail(format!(
            "it exited before it was ready; see {}",
            settings.home.log_file().display()
        ))),
    }
}

/// Windows: started detached with no inherited handles (see the tool
/// seam's `detached`), so there is no readiness pipe to hand over; the
/// coordinator's `coordinator.json` naming its pid is the readiness line
/// (written once it listens), and its exit before that is the error.
#[cfg(windows)]
fn spawn_and_wait(settings: &Settings, bin: &Path) -> Result<u32, ClientError> {
    use fbuild_core::info::CoordinatorInfo;
    let fail = |reason: String| ClientError::Spawn {
        bin: bin.to_path_buf(),
        reason,
    };
    let tool = fbuild_core::tool::Tool::new(bin)
        .arg("--home")
        .arg(settings.home.root())
        .current_dir(settings.home.coordinator_dir());
    let child = fbuild_core::tool::detached::spawn(&tool).map_err(|e| fail(e.to_string()))?;
    let deadline = Instant::now() + SPAWN_READY_TIMEOUT;
    loop {
        let info = CoordinatorInfo::read(&settings.home.info_file());
        if info.is_ok_and(|i| i.pid == child.pid) {
            return Ok(child.pid);
        }
        if let Some(code) = child.exited() {
            return Err(fail(format!(
                "it exited (code {code}) before it was ready; see {}",
                settings.home.log_file().display()
            )));
        }
        if Instant::now() >= deadline {
            return Err(fail(format!("not ready within {SPAWN_READY_TIMEOUT:?}")));
        }
        std::thread::sleep(fbuild_core::time::GONE_POLL);
    }
}

#[cfg(unix)]
fn pipe() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element buffer; on success both fds are ours.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these two open fds.
    unsafe {
        Ok((
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        ))
    }
}

/// Reads one line from the readiness pipe, waiting at most `timeout` in all.
/// EOF (the coordinator died or closed the pipe) ends the wait at once.
#[cfg(unix)]
fn read_ready_line(fd: std::os::fd::OwnedFd, timeout: Duration) -> Result<String, String> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + timeout;
    let mut file = std::fs::File::from(fd);
    let mut buf = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if n == 0 {
            return Err(format!("not ready within {timeout:?}"));
        }
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("waiting for readiness: {e}"));
        }
        let mut chunk = [0u8; 256];
        let got = file.read(&mut chunk).map_err(|e| e.to_string())?;
        buf.extend_from_slice(&chunk[..got]);
        if got == 0 || buf.contains(&b'\n') {
            let text = String::from_utf8_lossy(&buf);
            return Ok(text.lines().next().unwrap_or("").to_string());
        }
    }
}
