//! `coordinator/coordinator.json`: who the running coordinator is. Written
//! atomically by the coordinator once it listens, removed when it exits.
//! Clients read it only to find the pid of a coordinator that no longer
//! answers (the socket is the source of truth for a live one).

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorInfo {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    /// Start time, seconds since the Unix epoch.
    pub started: u64,
    pub socket: String,
}

impl CoordinatorInfo {
    pub fn read(path: &Path) -> io::Result<Self> {
        let text = fs::read(path)?;
        serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Writes to a temp file beside `path` and renames it into place, so a
    /// reader never sees half a file. Each error names the step and file.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension(format!("json.tmp.{}", self.pid));
        let mut text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        text.push(b'\n');
        fs::write(&tmp, text).map_err(|e| step_error("writing", &tmp, e))?;
        replace(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            step_error(&format!("renaming {} over", tmp.display()), path, e)
        })
    }
}

/// Renames `tmp` over `path`. On Windows a file being read, or one whose
/// deletion is still pending, cannot be replaced for a moment ("Access
/// denied": a client polling this file, a scanner, wine's rule that an
/// open file is never replaced — seen once in CI when a killed
/// coordinator's successor published): such a refusal is retried for up
/// to [`crate::time::REPLACE_RETRY_WAIT`].
fn replace(tmp: &Path, path: &Path) -> io::Result<()> {
    let deadline = std::time::Instant::now() + crate::time::REPLACE_RETRY_WAIT;
    loop {
        match fs::rename(tmp, path) {
            Err(e)
                if cfg!(windows)
                    && e.kind() == io::ErrorKind::PermissionDenied
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(crate::time::REPLACE_RETRY_EVERY);
            }
            done => return done,
        }
    }
}

fn step_error(step: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}
