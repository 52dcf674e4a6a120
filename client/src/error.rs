//! Everything that can go wrong talking to the coordinator. Callers that must
//! never fail (the shim) fall back on any of these; the driver prints them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use fbuild_core::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the coordinator is not running")]
    NotRunning,
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot find fbuild-coordinator next to {beside} or on PATH; reinstall fbuild")]
    CoordinatorMissing { beside: PathBuf },
    #[error("could not start the coordinator ({bin}): {reason}")]
    Spawn { bin: PathBuf, reason: String },
    // The io error's text is in the message and deliberately not a
    // `#[source]` too: `{:#}` (anyhow) prints a chain, and the text came
    // out twice ("…: Connection refused: Connection refused").
    #[error("talking to the coordinator at {}: {cause}", socket.display())]
    Transport { socket: PathBuf, cause: io::Error },
    /// Windows: the coordinator's pipe is served by a process that does
    /// not run as this user (the message names the pipe and the pid).
    #[error(
        "{cause}; it may have created the pipe before our coordinator could: stop that process, \
         or set FBUILD_HOME to another folder (the pipe's name follows it)"
    )]
    ForeignServer { cause: io::Error },
    #[error("the coordinator sent nothing for {0:?} and did not answer a ping; it was replaced")]
    Wedged(Duration),
    #[error("the coordinator is alive but busy: no answer to this request within {0:?}")]
    Busy(Duration),
    #[error("the coordinator sent an invalid frame: {0}")]
    Protocol(String),
    /// The home's own folders cannot be made (read-only, not a folder,
    /// not ours).
    #[error(
        "FBUILD_HOME {} cannot be used ({what}: {cause}); point FBUILD_HOME at a folder you can \
         write", home.display()
    )]
    Home {
        home: PathBuf,
        what: String,
        cause: io::Error,
    },
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout { what: String, waited: Duration },
}

impl ClientError {
    /// Worth one more try after a short backoff: the connection broke, or a
    /// wedged coordinator was just replaced.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Transport { .. } | ClientError::Wedged(_))
    }
}
