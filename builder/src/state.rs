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
    /// The size tool's output for the firmware as it is (a no-op build
    /// reports sizes without running the tool).
    #[serde(default)]
    pub size_report: Option<SizeReport>,
    /// Changed since loaded: [`BuildState::save`] writes only then.
    #[serde(skip)]
    dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeReport {
    pub command: u64,
    pub elf: Stamp,
    pub stdout: String,
}

impl BuildState {
    pub fn load(path: &Path) -> BuildState {
        std::fs::read(path)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        if !self.dirty && path.exists() {
            return Ok(());
        }
        self.dirty = false;
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

    /// [`BuildState::up_to_date`] for many outputs whose inputs overlap
    /// (the core's objects share most headers): each input is looked at
    /// once. Only for inputs that do not change while `seen` lives.
    pub fn up_to_date_shared(
        &self,
        output: &Path,
        command: u64,
        seen: &mut std::collections::HashMap<PathBuf, Option<Stamp>>,
    ) -> bool {
        let Some(record) = self.outputs.get(output) else {
            return false;
        };
        record.command == command
            && output.exists()
            && !record.inputs.is_empty()
            && record.inputs.iter().all(|(path, stamp)| {
                seen.entry(path.clone())
                    .or_insert_with(|| Stamp::of(path))
                    .as_ref()
                    == Some(stamp)
            })
    }

    pub fn record(&mut self, output: &Path, command: u64, inputs: &[PathBuf]) {
        let inputs = inputs
            .iter()
            .filter_map(|p| Some((p.clone(), Stamp::of(p)?)))
            .collect();
        self.outputs
            .insert(output.to_path_buf(), Record { command, inputs });
        self.dirty = true;
    }

    /// The remembered size output for `elf` made by `command`, if the
    /// firmware has not changed since.
    pub fn size_output(&self, command: u64, elf: &Path) -> Option<&str> {
        let report = self.size_report.as_ref()?;
        (report.command == command && Stamp::of(elf).as_ref() == Some(&report.elf))
            .then_some(report.stdout.as_str())
    }

    pub fn remember_size(&mut self, command: u64, elf: &Path, stdout: String) {
        if let Some(elf) = Stamp::of(elf) {
            self.size_report = Some(SizeReport {
                command,
                elf,
                stdout,
            });
            self.dirty = true;
        }
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
