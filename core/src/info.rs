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
    /// reader never sees half a file.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension(format!("json.tmp.{}", self.pid));
        let mut text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        text.push(b'\n');
        fs::write(&tmp, text)?;
        fs::rename(&tmp, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }
}
