//! Becoming a tool, or standing in front of one: the shim's exec of the
//! real tool (Unix: `exec`, so its exit code, signals and stdio are its
//! own; Windows: spawn and wait through Ctrl-C, which the console gives
//! the child itself), signals forwarded to a child it waits
//! for, and an exit status as a shell would say it.

use std::process::{Child, Command, ExitStatus};

use super::Tool;

/// Why becoming the tool failed (it could not be started).
pub type ExecError = std::io::Error;

/// Replaces this process with `tool` (Unix); elsewhere runs it and exits
/// with its code. Returns only when it could not be started.
#[cfg(unix)]
pub fn become_tool(tool: &Tool) -> ExecError {
    use std::os::unix::process::CommandExt;
    tool.command().exec()
}

/// Replaces this process with `tool` (Unix); elsewhere runs it and exits
/// with its code. Returns only when it could not be started.
#[cfg(not(unix))]
pub fn become_tool(tool: &Tool) -> ExecError {
    wait_through_console_interrupts();
    match spawn(&mut tool.command()) {
        Ok(mut child) => std::process::exit(wait_code(&mut child).unwrap_or(1)),
        Err(e) => e,
    }
}

/// How many times a start that failed before the program ran is tried.
const START_TRIES: u32 = 3;

/// Starts `cmd`. Windows: a start refused with `ERROR_INTERNAL_ERROR`
/// (1359) is tried again, up to [`START_TRIES`] times: wine says so when
/// the new process died while the loader set it up, before the program's
/// own code ran (seen in CI under load: a compile through the shim failed
/// with `cannot run …\\cc.exe: Internal error`), so trying again runs
/// nothing twice. Any other error is returned at once.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let mut tries = 1;
    loop {
        match cmd.spawn() {
            Err(e) if tries < START_TRIES && died_while_starting(&e) => tries += 1,
            done => return done,
        }
    }
}

/// Whether `e` says the process died before its program ran (Windows'
/// `ERROR_INTERNAL_ERROR`, as wine reports it).
fn died_while_starting(e: &std::io::Error) -> bool {
    const ERROR_INTERNAL_ERROR: i32 = 1359;
    cfg!(windows) && e.raw_os_error() == Some(ERROR_INTERNAL_ERROR)
}

/// Child pid for the signal forwarder (0: none).
#[cfg(unix)]
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn forward(signal: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to `child` from now on
/// (Unix; a Windows console sends Ctrl-C to the whole group itself).
pub fn forward_signals_to(child: &Child) {
    #[cfg(unix)]
    {
        CHILD.store(child.id() as i32, std::sync::atomic::Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: installing a handler that only calls kill(2).
            unsafe { libc::signal(sig, forward as *const () as libc::sighandler_t) };
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child;
        wait_through_console_interrupts();
    }
}

/// Windows: Ctrl-C and Ctrl-Break reach every process on the console, the
/// child included; this process keeps running so that it waits for the
/// child and exits with the child's code (as rustup's proxies do). A
/// handler, not `SetConsoleCtrlHandler(NULL, TRUE)`: that one is inherited
/// and the child would ignore Ctrl-C too.
#[cfg(windows)]
fn wait_through_console_interrupts() {
    unsafe extern "system" fn keep_waiting(_event: u32) -> windows_sys::core::BOOL {
        1
    }
    // SAFETY: installs a handler that only returns TRUE.
    unsafe { windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(keep_waiting), 1) };
}

#[cfg(not(any(unix, windows)))]
fn wait_through_console_interrupts() {}

/// Waits for `child`; its exit code as [`code_of`] says it.
pub fn wait_code(child: &mut Child) -> std::io::Result<i32> {
    loop {
        match child.wait() {
            Ok(status) => return Ok(code_of(status)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// An exit code, or 128 + the signal number when the process died of a
/// signal, as a shell says it.
pub fn code_of(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

/// An exit status with code `code` (for fakes and tests).
pub fn status_with_code(code: i32) -> ExitStatus {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw((code & 0xff) << 8)
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(code as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [0, 1, 3, 125] {
            assert_eq!(code_of(status_with_code(code)), code);
        }
    }

    #[test]
    fn only_a_start_that_died_in_the_loader_is_tried_again() {
        let internal = std::io::Error::from_raw_os_error(1359);
        assert_eq!(died_while_starting(&internal), cfg!(windows));
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(!died_while_starting(&missing));
        let err = spawn(&mut Command::new("/nonexistent/fbuild-no-such-tool")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
