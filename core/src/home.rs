//! The layout of `FBUILD_HOME` (DESIGN.md, "Files and environment") and the
//! private directories the coordinator's socket lives in.
//!
//! Hazard: a Unix socket path is limited to ~108 bytes (104 on macOS), and
//! test homes under deep temp dirs exceed it. When `coordinator/` would give
//! too long a path, the socket moves to a private per-user runtime dir
//! (`$XDG_RUNTIME_DIR/fbuild`, else `/tmp/fbuild-<uid>`), named by a stable
//! hash of the canonical home. That dir is checked like the coordinator dir:
//! ours, a real directory (not a symlink), mode 0700, so another user can
//! neither reach the socket nor plant one for us to connect to.

use crate::hash::fnv1a64;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Longest socket path we use, with margin below the smallest `sun_path`.
pub const MAX_SOCKET_PATH: usize = 100;

const SOCKET_NAME: &str = "coordinator.sock";

/// The variable naming the user's own directory, where `FBUILD_HOME`
/// defaults to `.fbuild` inside.
#[cfg(unix)]
pub const USER_HOME_VAR: &str = "HOME";
#[cfg(windows)]
pub const USER_HOME_VAR: &str = "USERPROFILE";

/// A file beside the shims naming the folder of fbuild's own binaries
/// (one line, UTF-8). A shim finds `fbuild-coordinator` through it where it
/// cannot follow a link to its own binary: Windows shims are hard links or
/// copies, so the shim's own path says nothing of where fbuild lies.
pub const BIN_DIR_FILE: &str = "fbuild-bin-dir.txt";

/// The file of a library store entry that lists its inputs; its mtime is
/// the entry's last use (pruning).
pub const LIBRARY_STORE_ENTRY: &str = "entry.json";

/// One `FBUILD_HOME` and the paths inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
    runtime_dir: Option<PathBuf>,
}

impl Home {
    /// `root` is made absolute against the current directory; `runtime_dir`
    /// is `$XDG_RUNTIME_DIR` when set (the fallback socket location).
    pub fn new(root: impl Into<PathBuf>, runtime_dir: Option<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map(|d| d.join(&root))
                .unwrap_or(root)
        };
        let runtime_dir = runtime_dir.filter(|d| d.is_absolute());
        Home { root, runtime_dir }
    }

    /// The same settings for another root (the coordinator's `--home`).
    pub fn with_root(&self, root: impl Into<PathBuf>) -> Self {
        Home::new(root, self.runtime_dir.clone())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `coordinator/`: socket (when short enough), locks, info file, log.
    pub fn coordinator_dir(&self) -> PathBuf {
        self.root.join("coordinator")
    }

    /// `coordinator/plans/`: plans the shims remember (valid only while
    /// this coordinator and its daemon live).
    pub fn plans_dir(&self) -> PathBuf {
        self.coordinator_dir().join("plans")
    }

    /// Held by the running coordinator for its whole life.
    pub fn singleton_lock(&self) -> PathBuf {
        self.coordinator_dir().join("coordinator.lock")
    }

    /// Held by the one client that is starting a coordinator.
    pub fn spawn_lock(&self) -> PathBuf {
        self.coordinator_dir().join("spawn.lock")
    }

    /// `coordinator.json`: pid, version, started.
    pub fn info_file(&self) -> PathBuf {
        self.coordinator_dir().join("coordinator.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.coordinator_dir().join("coordinator.log")
    }

    /// `tools/`: managed tools such as `zccache-<version>/`.
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join("tools")
    }

    /// `tools/zccache-cache/`: the managed zccache's `ZCCACHE_CACHE_DIR`.
    pub fn zccache_cache_dir(&self) -> PathBuf {
        self.tools_dir().join("zccache-cache")
    }

    /// `shims/`: cc, c++, ar, ranlib, ld (links to the shim binary).
    pub fn shims_dir(&self) -> PathBuf {
        self.root.join("shims")
    }

    /// `toolchains/<name>-<version>/`: managed toolchains (the tools of
    /// package indexes: compilers, uploaders).
    pub fn toolchains_dir(&self) -> PathBuf {
        self.root.join("toolchains")
    }

    /// `packages/<packager>/hardware/<arch>/<version>/`: Arduino cores
    /// installed from package indexes.
    pub fn packages_dir(&self) -> PathBuf {
        self.root.join("packages")
    }

    /// `libraries/<name>-<version>-<hash>/`: the `lib_deps` store.
    pub fn libraries_dir(&self) -> PathBuf {
        self.root.join("libraries")
    }

    /// `builds/`: built outputs shared by all projects; `builds/links/`
    /// holds links and archives (`crate::link_store`).
    pub fn builds_dir(&self) -> PathBuf {
        self.root.join("builds")
    }

    /// `builds/links/`: fbuild's store of link and archive outputs.
    pub fn link_store_dir(&self) -> PathBuf {
        self.builds_dir().join("links")
    }

    /// `builds/libs/`: cores and libraries built once for every project
    /// (the library store: `fbuild_builder`'s `lib_store`); each entry's
    /// [`LIBRARY_STORE_ENTRY`] says what it was built from.
    pub fn library_store_dir(&self) -> PathBuf {
        self.builds_dir().join("libs")
    }

    /// `locks/`: cross-process install locks.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// Where the coordinator listens. Pure: creates nothing.
    pub fn socket_path(&self) -> PathBuf {
        if cfg!(windows) {
            return self.pipe_name();
        }
        let direct = self.coordinator_dir().join(SOCKET_NAME);
        if direct.as_os_str().len() <= MAX_SOCKET_PATH {
            return direct;
        }
        let canonical = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let name = format!(
            "{:016x}.sock",
            fnv1a64(canonical.as_os_str().as_encoded_bytes())
        );
        self.fallback_socket_dir().join(name)
    }

    /// Windows: `\\.\pipe\fbuild-<user>-<hash of the canonical home>`
    /// (case-folded: `C:\Fb` and `c:\fb` are one home there).
    fn pipe_name(&self) -> PathBuf {
        let canonical = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let key = canonical.to_string_lossy().to_lowercase();
        PathBuf::from(format!(
            r"\\.\pipe\fbuild-{}-{:016x}",
            user_tag(),
            fnv1a64(key.as_bytes())
        ))
    }

    /// Creates the coordinator dir (and the fallback socket dir when the
    /// socket lives there), both private to this user.
    pub fn prepare_coordinator_dir(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        ensure_private_dir(&self.coordinator_dir())?;
        if cfg!(windows) {
            return Ok(());
        }
        let socket = self.socket_path();
        if let Some(dir) = socket.parent().filter(|d| *d != self.coordinator_dir()) {
            ensure_private_dir(dir)?;
        }
        Ok(())
    }

    /// A writable directory for the shims' per-build stamps and locks
    /// (the warned-once stamp, the notice writer's lock): `shims/` in the
    /// home, else (a read-only or foreign home: the build still runs, and
    /// must still be told why it is uncached) a private directory in the
    /// runtime dir or `/tmp`, named by the home. `None` when neither works.
    pub fn scratch_dir(&self) -> Option<PathBuf> {
        let shims = self.shims_dir();
        if fs::create_dir_all(&shims).is_ok() && is_writable(&shims) {
            return Some(shims);
        }
        let name = format!("{:016x}", fnv1a64(self.root.as_os_str().as_encoded_bytes()));
        let dir = self.fallback_socket_dir().join(name);
        ensure_private_dir(&dir).ok().map(|()| dir)
    }

    fn fallback_socket_dir(&self) -> PathBuf {
        let short_enough = |d: &Path| d.as_os_str().len() + 24 <= MAX_SOCKET_PATH;
        match &self.runtime_dir {
            Some(run) if short_enough(run) => run.join("fbuild"),
            _ if cfg!(windows) => std::env::temp_dir().join(format!("fbuild-{}", user_tag())),
            _ => PathBuf::from(format!("/tmp/fbuild-{}", current_uid())),
        }
    }
}

/// Creates `dir` (parents as needed) and makes sure it is a real directory
/// owned by this user with mode 0700; a directory we own with looser bits is
/// tightened, anything else is refused.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    match create_dir_0700(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private_dir(dir)
}

#[cfg(unix)]
fn create_dir_0700(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir_0700(dir: &Path) -> io::Result<()> {
    fs::create_dir(dir)
}

#[cfg(unix)]
fn check_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} {why}; remove it or set FBUILD_HOME elsewhere",
                dir.display()
            ),
        ))
    };
    if !meta.is_dir() {
        return refuse("is not a directory (a symlink or file is not accepted)");
    }
    if meta.uid() != current_uid() {
        return refuse(&format!("belongs to uid {}, not to us", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// This user, as a name part: the uid on Unix, `USERNAME` on Windows
/// (letters, digits, `-` and `_` kept; anything else becomes `_`).
fn user_tag() -> String {
    if cfg!(unix) {
        return current_uid().to_string();
    }
    std::env::var_os("USERNAME")
        .map(|u| {
            u.to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .unwrap_or_else(|| "user".into())
}

#[cfg(unix)]
fn is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) on a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
fn is_writable(dir: &Path) -> bool {
    !fs::metadata(dir)
        .map(|m| m.permissions().readonly())
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_home_keeps_socket_inside() {
        let home = Home::new("/tmp/h", None);
        assert_eq!(
            home.socket_path(),
            PathBuf::from("/tmp/h/coordinator/coordinator.sock")
        );
    }

    #[test]
    fn deep_home_moves_socket_to_runtime_dir() {
        let deep = format!("/tmp/{}", "d".repeat(120));
        let home = Home::new(&deep, Some(PathBuf::from("/run/user/1000")));
        let sock = home.socket_path();
        assert!(sock.starts_with("/run/user/1000/fbuild"), "{sock:?}");
        assert!(sock.as_os_str().len() <= MAX_SOCKET_PATH);
        let other = Home::new(format!("{deep}x"), Some(PathBuf::from("/run/user/1000")));
        assert_ne!(sock, other.socket_path());
    }
}
