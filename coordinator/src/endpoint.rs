//! Where the coordinator listens, and what tells it to stop, per OS.
//!
//! Unix: a socket file (mode 0600, in a private directory; home.rs picks
//! the path); SIGTERM and SIGINT stop the coordinator gracefully.
//! Windows: the named pipe `\\.\pipe\fbuild-<user>-<hash>` (home.rs names
//! it), with a security descriptor that lets only the current user (and
//! SYSTEM) open it; Ctrl-C/Ctrl-Break stop it (a detached coordinator has
//! no console, so `taskkill /F` is the hard stop). A pipe disappears with
//! its last handle, so there is no stale name to remove: the singleton
//! lock already says that any previous owner is dead.

use std::path::Path;

use anyhow::{Context, Result};
use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, prelude::*};

/// Binds the endpoint. The caller holds the singleton lock, so a socket
/// file already at `path` belongs to a dead coordinator and is removed.
#[cfg(unix)]
pub fn bind(path: &Path) -> Result<Listener> {
    use interprocess::os::unix::local_socket::ListenerOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!("removed a stale socket {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("socket path {}", path.display()))?;
    ListenerOptions::new()
        .name(name)
        .reclaim_name(false)
        .mode(0o600)
        .create_tokio()
        .with_context(|| format!("listening on {}", path.display()))
}

/// Binds the named pipe, open to this user only.
#[cfg(windows)]
pub fn bind(path: &Path) -> Result<Listener> {
    use interprocess::os::windows::local_socket::ListenerOptionsExt;
    use interprocess::os::windows::security_descriptor::SecurityDescriptor;
    let sddl = owner_only_sddl().context("reading this process's user")?;
    let wide = widestring::U16CString::from_str(&sddl).context("the pipe's access rule")?;
    let sd = SecurityDescriptor::deserialize(&wide)
        .with_context(|| format!("the pipe's access rule {sddl}"))?;
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("pipe name {}", path.display()))?;
    ListenerOptions::new()
        .name(name)
        .security_descriptor(sd)
        .create_tokio()
        .with_context(|| format!("listening on {}", path.display()))
}

/// `D:P(A;;GA;;;<this user's SID>)(A;;GA;;;SY)`: full access for this
/// user and SYSTEM, nothing inherited, nobody else.
#[cfg(windows)]
fn owner_only_sddl() -> std::io::Result<String> {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let last = std::io::Error::last_os_error;
    // SAFETY: standard token query: the token handle is closed before
    // return, the buffer is sized by the first call, the SID string is
    // freed with LocalFree as documented.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(last());
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        CloseHandle(token);
        if ok == 0 {
            return Err(last());
        }
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
            return Err(last());
        }
        let sid = widestring::U16CStr::from_ptr_str(text).to_string_lossy();
        LocalFree(text.cast());
        Ok(format!("D:P(A;;GA;;;{sid})(A;;GA;;;SY)"))
    }
}

/// Waits for the OS's request to stop; its name, or `None` when it cannot
/// be watched (then only a shutdown request or idleness stops us).
#[cfg(unix)]
pub async fn stop_signal() -> Option<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; SIGTERM will not be graceful");
        return None;
    };
    Some(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

#[cfg(windows)]
pub async fn stop_signal() -> Option<&'static str> {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    let (Ok(mut c), Ok(mut b)) = (ctrl_c(), ctrl_break()) else {
        return None;
    };
    Some(tokio::select! {
        _ = c.recv() => "Ctrl-C",
        _ = b.recv() => "Ctrl-Break",
    })
}
