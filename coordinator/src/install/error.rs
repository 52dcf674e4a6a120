//! Why an install failed. Every variant's text says what failed, where,
//! and (where there is something to do) what to do; it is what waiters,
//! `fbuild daemon status` and the shims' warning show. `Clone`: one
//! failure is handed to every waiter of the install and remembered.

use std::path::PathBuf;
use std::time::Duration;

use super::fetch::FetchError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// The package's OS lock could not be taken at all.
    #[error("locking {}: {cause}", path.display())]
    Lock { path: PathBuf, cause: String },
    /// Another process holds the package's lock for too long.
    #[error("another process held {} for {waited:?}; is an install stuck?", path.display())]
    LockTimeout { path: PathBuf, waited: Duration },
    /// The download (or the checksum list) failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The archive is not the one the release lists.
    #[error(
        "checksum mismatch for {url}: expected sha256 {expected}, got {actual} ({bytes} bytes); \
         the download or the mirror is corrupt"
    )]
    Checksum {
        url: String,
        expected: String,
        actual: String,
        bytes: u64,
    },
    /// The archive could not be unpacked safely.
    #[error("{0}")]
    Unpack(String),
    /// The archive lacks the folder or program the package needs.
    #[error("{0}")]
    Layout(String),
    /// The unpacked package fails its health check.
    #[error("the new install does not work: {0}")]
    Unhealthy(String),
    /// A file operation in the install's own directories failed.
    #[error("{what}: {cause}")]
    Io { what: String, cause: String },
    /// The install task itself died.
    #[error("{0}")]
    Internal(String),
    /// A failure from a recent attempt, told again without retrying.
    #[error("{why} (remembered from {secs}s ago)")]
    Remembered { why: Box<InstallError>, secs: u64 },
}

impl InstallError {
    /// Stopped because nobody waited for it: not a failure to remember.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, InstallError::Fetch(f) if f.cancelled)
    }

    pub fn io(what: impl Into<String>, cause: std::io::Error) -> Self {
        InstallError::Io {
            what: what.into(),
            cause: cause.to_string(),
        }
    }
}
