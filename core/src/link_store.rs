//! fbuild's own store of link and archive outputs
//! (`FBUILD_HOME/builds/links/<key>/`), for the links zccache must not
//! cache: zccache 1.15.8 restores with a link it serves every file that
//! changed under the working directory and the inputs' folders while the
//! first one ran (measured: a user's edit overwritten, ninja's logs
//! rewritten at every hit). The store keeps only the files the line names
//! as its outputs (`-o`, `-Wl,-Map`; an archive), and the tool's stdout and
//! stderr.
//!
//! * The key ([`plan`]): the real tool (path, size, mtime), the line as
//!   text, the working directory, the toolchain fingerprint of
//!   [`link_inputs::key_flag`](crate::link_inputs::key_flag) (its library
//!   folders, the files named inside `-Wl,`), and every input operand by
//!   content (sha256). Only lines [`link_inputs::cacheable`] accepts come
//!   here: every input is an operand or in the fingerprint.
//! * A line that writes files it does not name as outputs (`-save-temps`,
//!   `-fdump-…`, `-Wl,--out-implib`, `--dependency-file`, …) is not stored.
//! * An entry appears whole or not at all: written in a staging folder
//!   beside, then renamed. A hit copies each output to a temporary file
//!   beside its destination and renames it over (a tool that edits its
//!   output in place, `strip`, never reaches the store).
//! * [`prune`] drops entries unused for [`MAX_AGE`](crate::time::LINK_STORE_MAX_AGE),
//!   then the least recently used beyond [`MAX_BYTES`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The store's format; another format is another key.
const FORMAT: &str = "fbuild link store 1";

/// The store's size limit (least recently used entries go first).
pub const MAX_BYTES: u64 = 2 << 30;

/// Options that write files the line does not name as outputs.
pub(crate) const UNNAMED_OUTPUTS: &[&str] = &[
    "-save-temps",
    "-fdump-",
    "-dumpdir",
    "-dumpbase",
    "-fcallgraph-info",
    "-fstack-usage",
    "-fprofile-use",
    "-fauto-profile",
    "-fplugin",
    "-###",
    "-gsplit-dwarf",
    "-fopt-info",
    "-fsave-optimization-record",
];

/// `-Wl,` parts that write files or that read ones no key covers.
const UNNAMED_WL_OUTPUTS: &[&str] = &[
    "--dependency-file",
    "-dependency-file",
    "--out-implib",
    "-out-implib",
    "--output-def",
    "-output-def",
    "--pdb",
    "--emit-relocs",
];

/// One link or archive as the shim or the build runs it.
pub struct Step<'a> {
    /// The real tool.
    pub tool: &'a Path,
    /// The arguments it runs with.
    pub args: &'a [String],
    pub cwd: &'a Path,
    /// A driver's toolchain fingerprint (`link_inputs::key_flag`), or "".
    pub fingerprint: &'a str,
    pub kind: StepKind,
}

/// What the step is, for its inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A driver's or `ld`'s link: operands in, `-o` and map files out.
    Link,
    /// `ar`: the first argument its modifiers, the second the archive.
    Archive,
    /// `ranlib ARCHIVE`, run on `copy` (a private copy beside it, see
    /// `ranlib`): the copy's bytes before are the input (under the
    /// archive's name), after the output.
    Ranlib { archive: PathBuf, copy: PathBuf },
    /// `objcopy` (the tool's name says so) from `input` to `output`, both
    /// on the line.
    Objcopy { input: PathBuf, output: PathBuf },
}

/// An entry's key and the outputs it restores (in the line's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub key: String,
    pub outputs: Vec<PathBuf>,
}

/// The key and outputs of `step`, or `None` when it cannot be stored (an
/// output it does not name, an input that cannot be read, no `-o`).
pub fn plan(step: &Step) -> Option<Planned> {
    let (inputs, outputs) = match &step.kind {
        StepKind::Link => link_files(step.args)?,
        StepKind::Archive => archive_files(step.args)?,
        StepKind::Objcopy { input, output } => objcopy_files(step, input, output)?,
        StepKind::Ranlib { archive, copy } => (
            vec![archive.to_str()?.to_string()],
            vec![copy.to_str()?.to_string()],
        ),
    };
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(FORMAT.as_bytes());
    let tool = std::fs::metadata(step.tool).ok()?;
    field(step.tool.as_os_str().as_encoded_bytes());
    field(&tool.len().to_le_bytes());
    field(&nanos(tool.modified().ok()?).to_le_bytes());
    field(step.cwd.as_os_str().as_encoded_bytes());
    field(step.fingerprint.as_bytes());
    // The linker and assembler a driver finds on PATH (GCC's
    // `-print-prog-name=ld` says `ld`: the fingerprint has no path).
    for (path, meta) in on_path(&["ld", "as"]) {
        field(path.as_os_str().as_encoded_bytes());
        field(&meta.len().to_le_bytes());
        field(&nanos(meta.modified().unwrap_or(UNIX_EPOCH)).to_le_bytes());
    }
    for a in step.args {
        field(a.as_bytes());
    }
    for input in &inputs {
        let path = step.cwd.join(input);
        let read_from = match &step.kind {
            StepKind::Ranlib { copy, .. } => step.cwd.join(copy),
            _ => path.clone(),
        };
        let bytes = std::fs::read(&read_from).ok()?;
        field(path.as_os_str().as_encoded_bytes());
        field(&Sha256::digest(&bytes));
    }
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(Planned {
        key,
        outputs: outputs.iter().map(|o| step.cwd.join(o)).collect(),
    })
}

/// The first of each of `names` on PATH, with its metadata.
pub(crate) fn on_path(names: &[&str]) -> Vec<(PathBuf, std::fs::Metadata)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            std::env::split_paths(&path)
                .map(|d| d.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
                .find_map(|f| {
                    std::fs::metadata(&f)
                        .ok()
                        .filter(|m| m.is_file())
                        .map(|m| (f, m))
                })
        })
        .collect()
}

/// Options of objcopy that read a file.
const OBJCOPY_READS: &[&str] = &[
    "--add-section",
    "--update-section",
    "--set-section-",
    "--add-symbol",
];

/// (inputs, outputs) of an objcopy from `input` to `output`: the tool
/// named objcopy, both files on the line, no option that reads a file,
/// and no other argument naming a file (a section name such as `.eeprom`
/// may be a value; one that is also a file is not taken).
fn objcopy_files(step: &Step, input: &Path, output: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let name = step.tool.file_name()?.to_str()?;
    if !name.contains("objcopy") {
        return None;
    }
    let (input, output) = (input.to_str()?, output.to_str()?);
    let (mut saw_in, mut saw_out) = (false, false);
    for a in step.args {
        if a == input {
            saw_in = true;
        } else if a == output {
            saw_out = true;
        } else if a.starts_with('@')
            || a.contains("symbols")
            || a.contains("syms")
            || (OBJCOPY_READS.iter().any(|o| a.starts_with(o))
                && !a.starts_with("--set-section-flags"))
            || (!a.starts_with('-') && step.cwd.join(a).exists())
        {
            return None;
        }
    }
    (saw_in && saw_out).then(|| (vec![input.to_string()], vec![output.to_string()]))
}

/// (inputs, outputs) of `ar MODIFIERS ARCHIVE MEMBERS…` writing a new
/// archive (`r` or `q`).
fn archive_files(args: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    let modifiers = args.first()?.trim_start_matches('-');
    let archive = args.get(1)?;
    let members = &args[2..];
    let plain = |a: &String| !a.is_empty() && !a.starts_with(['-', '@']);
    if !modifiers.contains(['r', 'q']) || !plain(archive) || !members.iter().all(plain) {
        return None;
    }
    Some((members.to_vec(), vec![archive.clone()]))
}

/// (inputs, outputs) of a driver's or `ld`'s link: the operands, and `-o`
/// with the `-Wl,-Map` files.
fn link_files(args: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if UNNAMED_OUTPUTS.iter().any(|o| a.starts_with(o)) || a == "-M" {
            return None;
        }
        if let Some(wl) = a.strip_prefix("-Wl,") {
            outputs.extend(map_files(wl)?);
        } else if a.starts_with("-Map") || a.starts_with("--Map") || wl_output(a) {
            // `ld`'s own: `-Map=FILE`, `--dependency-file=FILE`.
            outputs.extend(map_files(a)?);
        } else if a == "-o" {
            outputs.push(it.next()?.clone());
        } else if let Some(out) = a.strip_prefix("-o") {
            outputs.push(out.to_string());
        } else if matches!(a.as_str(), "-L" | "-l" | "-z") {
            it.next()?;
        } else if a.starts_with('@') {
            return None; // a response file's contents are not keyed
        } else if !a.starts_with('-') {
            inputs.push(a.clone());
        }
    }
    // The default output (`a.out`) is not named: not stored.
    let named = args.iter().any(|a| a.starts_with("-o"));
    named.then_some((inputs, outputs))
}

/// Whether `-Wl,` part (or `ld` option) `a` writes a file besides the
/// output.
pub(crate) fn wl_output(a: &str) -> bool {
    UNNAMED_WL_OUTPUTS.iter().any(|o| a.starts_with(o))
}

/// The `-Map` files of one `-Wl,` argument; `None` when a part writes a
/// file this store does not know of.
fn map_files(wl: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = wl.split(',').collect();
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if wl_output(p) {
            return None;
        }
        let map = p.strip_prefix("--Map").or_else(|| p.strip_prefix("-Map"));
        match map {
            Some("") => out.push(parts.get(i + 1)?.to_string()),
            Some(rest) => out.push(rest.strip_prefix('=')?.to_string()),
            None => {}
        }
    }
    Some(out)
}

/// What a hit gives back besides the outputs.
pub struct Replay {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Replay {
    /// Prints what the tool printed: its stdout, then its stderr.
    pub fn write(&self) {
        use crate::console::{Stream, write_raw};
        write_raw(Stream::Stdout, &self.stdout);
        write_raw(Stream::Stderr, &self.stderr);
    }
}

/// The entry of `planned` in `store`, restored over its outputs; `None`
/// (nothing to restore, or an output could not be written) means: run the
/// tool.
pub fn restore(store: &Path, planned: &Planned) -> Option<Replay> {
    let entry = store.join(&planned.key);
    let stdout = std::fs::read(entry.join("stdout")).ok()?;
    let stderr = std::fs::read(entry.join("stderr")).ok()?;
    for (i, dest) in planned.outputs.iter().enumerate() {
        copy_over(&entry.join(format!("out.{i}")), dest).ok()?;
    }
    // Used now: the last to be pruned.
    if let Ok(f) = std::fs::File::options()
        .append(true)
        .open(entry.join("stderr"))
    {
        let _ = f.set_modified(SystemTime::now());
    }
    Some(Replay { stdout, stderr })
}

/// Keeps the outputs of a successful run of `planned` and what it printed.
pub fn keep(store: &Path, planned: &Planned, replay: &Replay) -> io::Result<()> {
    let printed = [("stdout", &replay.stdout[..]), (USED, &replay.stderr[..])];
    write_entry(store, &planned.key, &planned.outputs, &printed)
}

/// Writes the entry `key`: each of `outputs` copied as `out.N`, then each
/// `(name, bytes)` of `files` (the last [`USED`]), in a staging folder
/// beside, renamed into place whole. An entry already there is left as it
/// is (the same key: the same bytes).
pub(crate) fn write_entry(
    store: &Path,
    key: &str,
    outputs: &[PathBuf],
    files: &[(&str, &[u8])],
) -> io::Result<()> {
    let entry = store.join(key);
    if entry.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(store)?;
    let stage = store.join(format!(".stage-{}", unique()));
    // Each file on disk before the entry is visible: a crash never leaves
    // an entry of empty files. (A handle that may write: Windows flushes
    // no other.)
    let synced = |path: &Path| std::fs::File::options().write(true).open(path)?.sync_all();
    let staged = (|| {
        std::fs::create_dir(&stage)?;
        for (i, out) in outputs.iter().enumerate() {
            let kept = stage.join(format!("out.{i}"));
            std::fs::copy(out, &kept)?;
            synced(&kept)?;
        }
        for (name, bytes) in files {
            let path = stage.join(name);
            std::fs::File::create(&path)?.write_all(bytes)?;
            synced(&path)?;
        }
        std::fs::rename(&stage, &entry)
    })();
    if staged.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
        // Another process kept the same entry first: the same bytes.
        if entry.join(USED).is_file() {
            return Ok(());
        }
    }
    staged
}

/// The file of a link store entry whose mtime says when it was last used.
pub const USED: &str = "stderr";

/// Keeps the outputs of a successful run of `planned` when the step
/// plans to the same key now: its inputs are as they were when the key
/// was made (an input rewritten while the tool ran would file new
/// outputs under the old key), and every output is there.
pub fn keep_if_unchanged(store: &Path, step: &Step, planned: &Planned, replay: &Replay) {
    let unchanged = plan(step).is_some_and(|now| now.key == planned.key)
        && planned.outputs.iter().all(|o| o.is_file());
    if unchanged {
        let _ = keep(store, planned, replay);
    }
}

/// Drops entries unused for `max_age`, then the least recently used
/// beyond `max_bytes` (0: every entry), and staging folders older than
/// `max_age` (a process that died while keeping). An entry's last use is
/// the mtime of its file `used` (the link store's [`USED`]; the library
/// store's own), else its own (a plain file too: a split call's
/// temporary object, `one_step`). Returns the bytes freed.
pub fn prune(store: &Path, used: &str, max_age: std::time::Duration, max_bytes: u64) -> u64 {
    let now = SystemTime::now();
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    let mut freed = 0;
    for e in std::fs::read_dir(store).into_iter().flatten().flatten() {
        let path = e.path();
        let used = std::fs::metadata(path.join(used))
            .or_else(|_| e.metadata())
            .and_then(|m| m.modified())
            .unwrap_or(UNIX_EPOCH);
        let size = folder_size(&path);
        if now.duration_since(used).unwrap_or_default() > max_age {
            let removed = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            if removed.is_ok() {
                freed += size;
            }
        } else if !e.file_name().to_string_lossy().starts_with('.') {
            entries.push((used, size, path));
        }
    }
    entries.sort();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    for (_, size, path) in entries {
        if max_bytes > 0 && total <= max_bytes {
            break;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            total -= size;
            freed += size;
        }
    }
    freed
}

/// (entries, bytes) of the store.
pub fn figures(store: &Path) -> (u64, u64) {
    let mut out = (0, 0);
    for e in std::fs::read_dir(store).into_iter().flatten().flatten() {
        if !e.file_name().to_string_lossy().starts_with('.') {
            out.0 += 1;
            out.1 += folder_size(&e.path());
        }
    }
    out
}

fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// A temporary name beside `path`, unique to this process.
fn beside(path: &Path, what: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".fbuild-{what}.{}", std::process::id()));
    path.with_file_name(name)
}

pub(crate) fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `<pid>-<ns since the epoch>`: a name no other attempt has.
pub fn unique() -> String {
    format!("{}-{}", std::process::id(), nanos(SystemTime::now()))
}

/// `from` copied to a temporary file beside `to`, then renamed over it:
/// `to` is the old file or the new one whole, never a part (and a file
/// linked to the old one, or a tool editing it in place, never reaches
/// `from`). Both stores serve their outputs this way. `to` is dated now,
/// as if the tool had just written it: Windows' and macOS's copies keep
/// the stored file's time, and make would then see an archive or a
/// program older than what it was made from (made again at every build,
/// or a relink skipped after a revert).
pub fn copy_over(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = beside(to, "restore");
    let dated_now = |tmp: &Path| {
        let file = std::fs::File::options().write(true).open(tmp)?;
        file.set_modified(SystemTime::now())
    };
    let copied = std::fs::copy(from, &tmp)
        .and_then(|_| dated_now(&tmp))
        .and_then(|()| std::fs::rename(&tmp, to));
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied
}

#[cfg(test)]
#[path = "link_store_tests.rs"]
mod tests;
