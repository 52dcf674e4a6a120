//! What the last build did, for incremental builds: per output, a hash of
//! the command that made it and the size and mtime of every input (from
//! the compiler's depfile). An output is up to date when its command and
//! all its inputs are unchanged. Stored as `fbuild-state.json` in the
//! environment's build dir, written atomically.

use fbuild_core::hash::Fnv1a;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(Stamp {
            size: meta.len(),
            mtime_ns,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub command: u64,
    pub inputs: BTreeMap<PathBuf, Stamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildState {
    pub outputs: BTreeMap<PathBuf, Record>,
}

impl BuildState {
    pub fn load(path: &Path) -> BuildState {
        std::fs::read(path)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }

    /// Whether `output` exists and was made by `command` from inputs that
    /// have not changed since.
    pub fn up_to_date(&self, output: &Path, command: u64) -> bool {
        let Some(record) = self.outputs.get(output) else {
            return false;
        };
        record.command == command
            && output.exists()
            && !record.inputs.is_empty()
            && record
                .inputs
                .iter()
                .all(|(path, stamp)| Stamp::of(path).as_ref() == Some(stamp))
    }

    pub fn record(&mut self, output: &Path, command: u64, inputs: &[PathBuf]) {
        let inputs = inputs
            .iter()
            .filter_map(|p| Some((p.clone(), Stamp::of(p)?)))
            .collect();
        self.outputs
            .insert(output.to_path_buf(), Record { command, inputs });
    }
}

/// FNV-1a over the command's arguments, each ended by a NUL (stable
/// across runs and versions).
pub fn command_hash<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> u64 {
    let mut hash = Fnv1a::new();
    for a in args {
        hash.write(a.as_ref().as_encoded_bytes());
        hash.write(&[0]);
    }
    hash.finish()
}
