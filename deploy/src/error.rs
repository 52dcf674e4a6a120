//! How a deploy step fails: what the driver and `fbuild test` tell the
//! user, one variant per cause, each message saying what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The uploader or emulator could not be started.
    #[error("cannot run {} ({source}); {install}", program.display())]
    ToolMissing {
        program: PathBuf,
        /// How to install it (`install avrdude (on Debian: apt-get install avrdude)`).
        install: String,
        source: std::io::Error,
    },
    #[error("waiting for {}: {source}", program.display())]
    Wait {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("listing serial ports: {0}")]
    ListPorts(String),
    #[error("no serial ports found: is the board plugged in? (or pass --port)")]
    NoPorts,
    #[error("no port looks like an Arduino board; pass --port, one of:\n{listing}")]
    NoBoardPort { listing: String },
    #[error("{count} ports look like boards; pass --port (or set upload_port), one of:\n{listing}")]
    SeveralBoardPorts { count: usize, listing: String },
    /// A monitor option with a value it does not take (`--eol`, a filter).
    #[error("{option} {value:?}: use {allowed}")]
    MonitorOption {
        option: &'static str,
        value: String,
        allowed: String,
    },
    /// A serial port could not be opened or set up (`what`: the step).
    #[error("{what} {port}: {why}")]
    Serial {
        what: &'static str,
        port: String,
        why: String,
    },
}
