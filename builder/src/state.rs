//! What the last build did, for incremental builds: per output, a hash of
//! the command that made it and the size and mtime of every input (from
//! the compiler's depfile), and for the project's own files also what the
//! compiler sees of their text ([`crate::text_key`]). An output is up to
//! date when its command and all its inputs are unchanged; an input whose
//! stamp changed but whose text key did not (a comment edited) is
//! unchanged. Inputs are recorded as they were before the compile (see
//! `inputs`). When an output is out of date, [`Dirty`] says why (`-v`).
//! Stored as `fbuild-state.json` in the environment's build dir, written
//! atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fbuild_core::hash::Fnv1a;
use serde::{Deserialize, Serialize};

use crate::commands::Commands;
pub use crate::inputs::{Inputs, Stamp};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// The hash of the command (program first; the command itself is in
    /// `commands`).
    pub command: u64,
    #[serde(with = "crate::path_keys::map")]
    pub inputs: BTreeMap<PathBuf, Stamp>,
    /// Text keys of the inputs under the project, as compiled.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "crate::path_keys::map"
    )]
    pub texts: BTreeMap<PathBuf, String>,
}

/// Why an output is out of date: the first reason found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dirty {
    /// No record of it: never built here, or the state was lost.
    Unknown,
    /// The output file is gone.
    Missing,
    /// Made by another command (program and arguments, then and now).
    Command { was: Vec<String>, now: Vec<String> },
    /// This input differs from when the output was made.
    Changed(PathBuf),
    /// This input is gone.
    Gone(PathBuf),
    /// This input may have changed while the output was made.
    Unsettled(PathBuf),
    /// A header of this name appeared in the project's include folders:
    /// it may be found before the one the output was made with.
    Shadowed(String),
}

impl Dirty {
    /// One line for `-v`, paths relative to `root`.
    pub fn explain(&self, root: &Path) -> String {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        match self {
            Dirty::Unknown => "not built before".into(),
            Dirty::Missing => "the output is missing".into(),
            Dirty::Command { was, now } => command_change(was, now),
            Dirty::Changed(p) => format!("{} changed", rel(p)),
            Dirty::Gone(p) => format!("{} is gone", rel(p)),
            Dirty::Unsettled(p) => format!(
                "{} changed during a build (or its time is ahead of the build's)",
                rel(p)
            ),
            Dirty::Shadowed(name) => {
                format!("a new {name} may be found before the one it was built with")
            }
        }
    }
}

/// What differs between two commands, in words: the program, else the
/// arguments added and removed (a few of each), else their order.
fn command_change(was: &[String], now: &[String]) -> String {
    if was.is_empty() {
        return "the command changed".into();
    }
    if was.first() != now.first() {
        return format!(
            "the tool changed: {} -> {}",
            was.first().map_or("", String::as_str),
            now.first().map_or("", String::as_str)
        );
    }
    // What `a` has more of than `b` (a flag given twice, then once, is one
    // removed).
    let missing_from = |a: &[String], b: &[String]| -> Vec<String> {
        let mut left: std::collections::HashMap<&str, usize> = Default::default();
        for x in b {
            *left.entry(x.as_str()).or_default() += 1;
        }
        a.iter()
            .filter(|x| match left.get_mut(x.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            })
            .cloned()
            .collect()
    };
    let list = |v: Vec<String>| {
        let mut shown = v.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
        if v.len() > 3 {
            shown.push_str(&format!(" (and {} more)", v.len() - 3));
        }
        shown
    };
    let mut parts = Vec::new();
    let added = missing_from(now, was);
    if !added.is_empty() {
        parts.push(format!("added {}", list(added)));
    }
    let removed = missing_from(was, now);
    if !removed.is_empty() {
        parts.push(format!("removed {}", list(removed)));
    }
    if parts.is_empty() {
        return "the command's arguments changed order".into();
    }
    format!("the command changed: {}", parts.join("; "))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildState {
    #[serde(with = "crate::path_keys::map")]
    pub outputs: BTreeMap<PathBuf, Record>,
    /// The files in the project's include folders at the last build
    /// (`None`: not known; see [`BuildState::new_headers`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::path_keys::set"
    )]
    pub headers: Option<BTreeSet<PathBuf>>,
    /// The size tool's output for the firmware as it is (a no-op build
    /// reports sizes without running the tool).
    #[serde(default)]
    pub size_report: Option<SizeReport>,
    /// Library store keys of groups found to be this project's own (they
    /// read a file of the project's, or wrote no depfile): not looked up
    /// nor kept again (see `lib_store`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub own_groups: BTreeSet<String>,
    /// Per group archive, the library store key its objects were last
    /// compiled under: objects up to date here but of another key (a
    /// compiler upgraded in place) are compiled again before a group is
    /// kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_keys: BTreeMap<String, String>,
    /// Changed since loaded: [`BuildState::save`] writes only then.
    #[serde(skip)]
    changed: bool,
    /// The commands themselves, beside the state file.
    #[serde(skip)]
    commands: Commands,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeReport {
    pub command: u64,
    pub elf: Stamp,
    pub stdout: String,
}

impl BuildState {
    pub fn load(path: &Path) -> BuildState {
        let mut state: BuildState = std::fs::read(path)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default();
        state.commands = Commands::at(path.with_file_name("fbuild-commands.json"));
        state
    }

    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.commands.save()?;
        if !self.changed && path.exists() {
            return Ok(());
        }
        self.changed = false;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }

    /// Takes the files in the project's include folders now; one new
    /// since the last build may shadow a header of the same name an object
    /// was compiled with (seen: `src/cfg.h` added in front of
    /// `lib/foo/src/cfg.h` compiled nothing). Every such input is recorded
    /// unsettled (kept, should this build stop before its compile);
    /// returns the outputs, with the new header's name, for `-v`.
    pub fn new_headers(&mut self, headers: BTreeSet<PathBuf>) -> Vec<(PathBuf, String)> {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let fresh: BTreeSet<String> = match &self.headers {
            Some(before) => headers.difference(before).filter_map(|p| name(p)).collect(),
            None => BTreeSet::new(),
        };
        if self.headers.as_ref() != Some(&headers) {
            self.headers = Some(headers);
            self.changed = true;
        }
        let mut hit = Vec::new();
        if fresh.is_empty() {
            return hit;
        }
        for (output, record) in &mut self.outputs {
            for (path, stamp) in &mut record.inputs {
                if let Some(n) = name(path).filter(|n| fresh.contains(n)) {
                    *stamp = Stamp::UNSETTLED;
                    hit.push((output.clone(), n));
                    self.changed = true;
                }
            }
        }
        hit
    }

    /// Why `output` must be made again by `command` (program first), or
    /// `None` when it exists and was made by that command from inputs that
    /// have not changed since.
    pub fn dirty(&self, output: &Path, command: &[OsString]) -> Option<Dirty> {
        let Some(record) = self.outputs.get(output) else {
            return Some(Dirty::Unknown);
        };
        let dirty = check(record, output, command, &mut Inputs::default());
        self.with_old_command(output, dirty)
    }

    /// `dirty` with the command that made `output`, when it changed.
    fn with_old_command(&self, output: &Path, dirty: Option<Dirty>) -> Option<Dirty> {
        match dirty {
            Some(Dirty::Command { now, .. }) => Some(Dirty::Command {
                was: self.commands.of(output),
                now,
            }),
            other => other,
        }
    }

    /// [`BuildState::dirty`] for a compile, looking at each input once per
    /// build (`seen`), and taking a project file whose stamp changed but
    /// whose text key did not as unchanged (its new stamp is kept).
    pub fn dirty_compile(
        &mut self,
        output: &Path,
        command: &[OsString],
        seen: &mut Inputs,
    ) -> Option<Dirty> {
        let Some(record) = self.outputs.get_mut(output) else {
            return Some(Dirty::Unknown);
        };
        let dirty = check(record, output, command, seen);
        if dirty.is_none() {
            for (path, stamp) in record.inputs.iter_mut() {
                if let Some(now) = seen.stamp(path).filter(|now| now != stamp) {
                    *stamp = now;
                    self.changed = true;
                }
            }
        }
        self.with_old_command(output, dirty)
    }

    /// Records `output` as made by `command` from `inputs` as they are now
    /// (the build's own files: objects, archives, the firmware).
    pub fn record(&mut self, output: &Path, command: &[OsString], inputs: &[PathBuf]) {
        let inputs = inputs
            .iter()
            .map(|p| (p.clone(), Stamp::of(p).unwrap_or(Stamp::UNSETTLED)))
            .collect();
        self.keep(output, command, inputs, BTreeMap::new());
    }

    /// [`BuildState::record`] for a compile: its inputs as the build saw
    /// them before the compile ([`Inputs::settled`]), the project's files
    /// with their text keys.
    pub fn record_compile(
        &mut self,
        output: &Path,
        command: &[OsString],
        inputs: &[PathBuf],
        seen: &mut Inputs,
    ) {
        let mut stamps = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for path in inputs {
            let (stamp, text) = seen.settled(path);
            stamps.insert(path.clone(), stamp);
            if let Some(text) = text {
                texts.insert(path.clone(), text);
            }
        }
        self.keep(output, command, stamps, texts);
    }

    fn keep(
        &mut self,
        output: &Path,
        command: &[OsString],
        inputs: BTreeMap<PathBuf, Stamp>,
        texts: BTreeMap<PathBuf, String>,
    ) {
        let record = Record {
            command: command_hash(command),
            inputs,
            texts,
        };
        self.outputs.insert(output.to_path_buf(), record);
        self.commands.keep(output, &lossy(command));
        self.changed = true;
    }

    /// Forgets `output` (it is made again).
    pub fn forget(&mut self, output: &Path) {
        if self.outputs.remove(output).is_some() {
            self.changed = true;
        }
    }

    /// Marks a library store key as this project's own.
    pub fn own_group(&mut self, key: &str) {
        if self.own_groups.insert(key.to_string()) {
            self.changed = true;
        }
    }

    /// Keeps only the own groups among `keys` (the others' keys are of
    /// flags or files that are no more).
    pub fn keep_own_groups(&mut self, keys: &BTreeSet<&str>) {
        let before = self.own_groups.len();
        self.own_groups.retain(|k| keys.contains(k.as_str()));
        self.changed |= before != self.own_groups.len();
    }

    /// Says the objects of the group archived as `archive` are (to be)
    /// compiled under `key`; returns whether they already were.
    pub fn compiled_under(&mut self, archive: &Path, key: &str) -> bool {
        let name = archive.to_string_lossy().into_owned();
        if self.group_keys.get(&name).map(String::as_str) == Some(key) {
            return true;
        }
        self.group_keys.insert(name, key.to_string());
        self.changed = true;
        false
    }

    /// The inputs `output` was last made from (none if never).
    pub fn inputs_of(&self, output: &Path) -> impl Iterator<Item = &Path> {
        self.outputs
            .get(output)
            .into_iter()
            .flat_map(|r| r.inputs.keys().map(PathBuf::as_path))
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
            self.changed = true;
        }
    }
}

/// Why `record` no longer describes `output` made by `command`: the
/// command, the output, then each input as `seen` reads it (a project file
/// whose stamp changed but whose text key is the recorded one is
/// unchanged; its text is read only then).
fn check(record: &Record, output: &Path, command: &[OsString], seen: &mut Inputs) -> Option<Dirty> {
    if record.command != command_hash(command) {
        return Some(Dirty::Command {
            was: Vec::new(),
            now: lossy(command),
        });
    }
    if !output.exists() {
        return Some(Dirty::Missing);
    }
    if record.inputs.is_empty() {
        return Some(Dirty::Unknown);
    }
    for (path, stamp) in &record.inputs {
        if *stamp == Stamp::UNSETTLED {
            return Some(Dirty::Unsettled(path.clone()));
        }
        match seen.stamp(path) {
            None => return Some(Dirty::Gone(path.clone())),
            Some(now) if now == *stamp => {}
            Some(_) => {
                let same_text = record
                    .texts
                    .get(path)
                    .is_some_and(|key| seen.text(path).as_ref() == Some(key));
                if !same_text {
                    return Some(Dirty::Changed(path.clone()));
                }
            }
        }
    }
    None
}

/// A command as text, for messages.
fn lossy(command: &[OsString]) -> Vec<String> {
    command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
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

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
