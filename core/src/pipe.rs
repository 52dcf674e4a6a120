//! The client end of a named pipe (Windows): the coordinator's pipe and
//! zccache's daemon pipe, opened as a synchronous file (such a handle has
//! no I/O timeouts: reads and writes go through [`crate::timed_read`]).
//!
//! Hazards:
//! * Every instance of the pipe busy (`ERROR_PIPE_BUSY`: a burst of
//!   clients between the server's accepts). Waited out with
//!   `WaitNamedPipeW` for the rest of the caller's budget, then tried
//!   again: neither failing at once nor spinning.
//! * Squatting: a pipe name is not private. Another user cannot open our
//!   pipe (its access rule), but a process could create the name first, and
//!   we would hand it our requests. [`check_server_user`] says whether the
//!   process serving the pipe runs as this user.

use std::fs::File;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{ERROR_PIPE_BUSY, ERROR_SEM_TIMEOUT};
use windows_sys::Win32::System::Pipes::{GetNamedPipeServerProcessId, WaitNamedPipeW};

/// Opens the pipe at `path` for reading and writing, waiting up to
/// `budget` while every instance is busy. A missing pipe is `NotFound` at
/// once; still busy after `budget` is `TimedOut`.
pub fn open(path: &Path, budget: Duration) -> io::Result<File> {
    let deadline = Instant::now() + budget;
    loop {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        {
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) => {}
            other => return other,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "every instance of {} stayed busy for {budget:?}",
                    path.display()
                ),
            ));
        }
        if let Err(e) = wait_for_instance(path, left)
            && e.raw_os_error() != Some(ERROR_SEM_TIMEOUT as i32)
        {
            // Gone meanwhile (the next open says so) or an odd failure:
            // pause so that a failing wait cannot make this loop spin.
            std::thread::sleep(crate::time::WAIT_POLL.min(left));
        }
    }
}

/// `WaitNamedPipeW`: until an instance of `path` is free, at most `left`.
fn wait_for_instance(path: &Path, left: Duration) -> io::Result<()> {
    let name: Vec<u16> = path
        .as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect();
    // 0 would mean the server's default wait, u32::MAX forever.
    let ms = left.as_millis().clamp(1, u128::from(u32::MAX - 1)) as u32;
    // SAFETY: a NUL-terminated UTF-16 name that outlives the call.
    if unsafe { WaitNamedPipeW(name.as_ptr(), ms) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Fails (`PermissionDenied`, naming `path`) unless the process serving the
/// pipe `file` is connected to runs as this process's user.
pub fn check_server_user(file: &File, path: &Path) -> io::Result<()> {
    let mut pid = 0u32;
    // SAFETY: the handle of an open pipe client end; an out pointer to a u32.
    if unsafe { GetNamedPipeServerProcessId(file.as_raw_handle(), &mut pid) } == 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("asking who serves {}: {e}", path.display()),
        ));
    }
    let detail = match crate::procs::runs_as_current_user(pid) {
        Ok(true) => return Ok(()),
        Ok(false) => format!("pid {pid}"),
        Err(e) => format!("pid {pid}, whose user cannot be read: {e}"),
    };
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{} is served by another user's process ({detail})",
            path.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    //! Windows only: run under wine (`cargo test --target
    //! x86_64-pc-windows-gnu --no-run`, then the test binary).
    use super::*;
    use std::os::windows::io::{FromRawHandle, OwnedHandle};
    use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
    use windows_sys::Win32::Storage::FileSystem::PIPE_ACCESS_DUPLEX;
    use windows_sys::Win32::System::Pipes::{CreateNamedPipeW, PIPE_TYPE_BYTE, PIPE_WAIT};

    /// One more listening instance of `name` (at most two), with small
    /// buffers.
    fn instance(name: &Path) -> OwnedHandle {
        let wide: Vec<u16> = name.as_os_str().encode_wide().chain([0]).collect();
        // SAFETY: a NUL-terminated name; the handle is checked and owned.
        unsafe {
            let h = CreateNamedPipeW(
                wide.as_ptr(),
                PIPE_ACCESS_DUPLEX,
                PIPE_TYPE_BYTE | PIPE_WAIT,
                2,
                4096,
                4096,
                0,
                std::ptr::null(),
            );
            assert_ne!(h, INVALID_HANDLE_VALUE, "{}", io::Error::last_os_error());
            OwnedHandle::from_raw_handle(h)
        }
    }

    fn name(tag: &str) -> std::path::PathBuf {
        format!(r"\\.\pipe\fbuild-test-{tag}-{}", std::process::id()).into()
    }

    #[test]
    fn a_busy_pipe_is_waited_for_within_the_budget() {
        let name = name("busy");
        let _first = instance(&name);
        let _a = open(&name, Duration::from_secs(1)).unwrap();
        let begun = Instant::now();
        let err = open(&name, Duration::from_millis(300)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(begun.elapsed() >= Duration::from_millis(300));
        let waiter = {
            let name = name.clone();
            std::thread::spawn(move || open(&name, Duration::from_secs(20)))
        };
        std::thread::sleep(Duration::from_millis(200));
        let _second = instance(&name);
        waiter.join().unwrap().unwrap();
        let missing = open(&self::name("none"), Duration::from_secs(5)).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound, "{missing}");
    }

    #[test]
    fn our_own_pipe_is_served_by_our_user() {
        let name = name("own");
        let _server = instance(&name);
        let client = open(&name, Duration::from_secs(1)).unwrap();
        check_server_user(&client, &name).unwrap();
    }

    #[test]
    fn a_write_the_server_does_not_read_times_out() {
        let name = name("stuck");
        let _server = instance(&name);
        let client = open(&name, Duration::from_secs(1)).unwrap();
        let limit = Duration::from_millis(300);
        let err = crate::timed_read::write_within(client, vec![0u8; 4 << 20], limit).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    }
}
