//! Where the coordinator listens, and what tells it to stop, per OS.
//!
//! Unix: a socket file (mode 0600, in a private directory; home.rs picks
//! the path); SIGTERM and SIGINT stop the coordinator gracefully.
//! Windows: the named pipe `\\.\pipe\fbuild-<user>-<hash>` (home.rs names
//! it), with a security descriptor that lets only the current user (and
//! SYSTEM) open it; Ctrl-C/Ctrl-Break stop it (a detached coordinator's
//! console is its own, hidden, so nobody sends those: `taskkill /F` is the
//! hard stop). A pipe disappears with
//! its last handle, so there is no stale name to remove, nor one to remove
//! at exit ([`BoundSocket`] keeps track of a socket file on Unix only): the
//! singleton lock already says that any previous owner is dead.

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
    let sid = fbuild_core::procs::current_user_sid()?;
    Ok(format!("D:P(A;;GA;;;{sid})(A;;GA;;;SY)"))
}

/// The socket this process bound, by identity (device and inode), so that
/// only that one is removed at exit (see `server::Owned`). Unix only: a
/// named pipe cannot be stat'ed or removed, and goes with its last handle.
pub struct BoundSocket {
    #[cfg(unix)]
    path: std::path::PathBuf,
    #[cfg(unix)]
    id: Option<(u64, u64)>,
}

impl BoundSocket {
    /// Notes the identity of the socket just bound at `path`.
    #[cfg(unix)]
    pub fn new(path: std::path::PathBuf) -> BoundSocket {
        let id = identity(&path);
        BoundSocket { path, id }
    }

    #[cfg(windows)]
    pub fn new(_path: std::path::PathBuf) -> BoundSocket {
        BoundSocket {}
    }

    /// Removes the socket if it is still the one this process bound.
    #[cfg(unix)]
    pub fn remove(&self) {
        if self.id.is_some() && identity(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    #[cfg(windows)]
    pub fn remove(&self) {}
}

/// A file's device and inode.
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    fbuild_core::stamp::FileStamp::of(path).map(|s| (s.dev, s.ino))
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
