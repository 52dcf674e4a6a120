//! What the last build did, for incremental builds: per output, a hash of
//! the command that made it and the size and mtime of every input (from
//! the compiler's depfile), and for the project's own files also what the
//! compiler sees of their text ([`crate::text_key`]). An output is up to
//! date when its command and all its inputs are unchanged; an input whose
//! stamp changed but whose text key did not (a comment edited) is
//! unchanged. Stored as `fbuild-state.json` in the environment's build
//! dir, written atomically.

use fbuild_core::hash::Fnv1a;
use std::collections::{BTreeMap, HashMap};
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
    /// Text keys of the inputs under the project, as compiled.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts: BTreeMap<PathBuf, String>,
}

/// A build's look at its inputs: each file's stamp and text key read once
/// (the core's objects share most headers). Files under `root` (the
/// project) get text keys.
#[derive(Debug, Default)]
pub struct Inputs {
    root: Option<PathBuf>,
    stamps: HashMap<PathBuf, Option<Stamp>>,
    texts: HashMap<PathBuf, Option<String>>,
}

impl Inputs {
    pub fn keyed_under(root: &Path) -> Inputs {
        Inputs {
            root: Some(root.to_path_buf()),
            ..Inputs::default()
        }
    }

    fn stamp(&mut self, path: &Path) -> Option<Stamp> {
        self.stamps
            .entry(path.to_path_buf())
            .or_insert_with(|| Stamp::of(path))
            .clone()
    }

    /// The file's text key, if it is one of the project's and has one.
    fn text(&mut self, path: &Path) -> Option<String> {
        if !self
            .root
            .as_ref()
            .is_some_and(|root| path.starts_with(root))
        {
            return None;
        }
        self.texts
            .entry(path.to_path_buf())
            .or_insert_with(|| crate::text_key::text_key(&std::fs::read(path).ok()?))
            .clone()
    }
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

    /// [`BuildState::up_to_date`] for a compile, looking at each input
    /// once per build (`seen`), and taking a project file whose stamp
    /// changed but whose text key did not as unchanged (its new stamp is
    /// kept). Only for inputs that do not change while `seen` lives.
    pub fn up_to_date_shared(&mut self, output: &Path, command: u64, seen: &mut Inputs) -> bool {
        let Some(Record {
            command: made_by,
            inputs,
            texts,
        }) = self.outputs.get_mut(output)
        else {
            return false;
        };
        if *made_by != command || inputs.is_empty() || !output.exists() {
            return false;
        }
        for (path, stamp) in inputs.iter_mut() {
            let now = seen.stamp(path);
            if now.as_ref() == Some(stamp) {
                continue;
            }
            match (now, texts.get(path)) {
                (Some(now), Some(key)) if seen.text(path).as_ref() == Some(key) => {
                    *stamp = now;
                    self.dirty = true;
                }
                _ => return false,
            }
        }
        true
    }

    pub fn record(&mut self, output: &Path, command: u64, inputs: &[PathBuf]) {
        self.keep(output, command, inputs, BTreeMap::new());
    }

    /// [`BuildState::record`] for a compile: the project's files also
    /// with their text keys (read once per build, through `keys`, made
    /// after the compiles finished).
    pub fn record_compile(
        &mut self,
        output: &Path,
        command: u64,
        inputs: &[PathBuf],
        keys: &mut Inputs,
    ) {
        let texts = inputs
            .iter()
            .filter_map(|p| Some((p.clone(), keys.text(p)?)))
            .collect();
        self.keep(output, command, inputs, texts);
    }

    /// The record of `output`: `inputs` stamped now, with `texts`.
    fn keep(
        &mut self,
        output: &Path,
        command: u64,
        inputs: &[PathBuf],
        texts: BTreeMap<PathBuf, String>,
    ) {
        let inputs = inputs
            .iter()
            .filter_map(|p| Some((p.clone(), Stamp::of(p)?)))
            .collect();
        let record = Record {
            command,
            inputs,
            texts,
        };
        self.outputs.insert(output.to_path_buf(), record);
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
