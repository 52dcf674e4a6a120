//! A toolchain's library folders as last walked, for the link fingerprint
//! (`link_fingerprint::key_flag`): the folders under each library folder
//! (multilib variants), each one's stamp, and where each `-l` library was
//! found. Walking them took a link hit of avr-gcc ~3 ms of its ~8 (92
//! folders listed, 33 looked through for each candidate name of `-lm`).
//!
//! Remembered in the link store as `.folders-<hash of the roots>.json`
//! (a dot file: no entry, pruned by age as staging is). A remembered walk
//! is taken only while every folder's stamp (mtime, size) is the one
//! remembered: a folder or library added, removed or renamed under a
//! folder changes that folder's mtime. Each folder is stamped before it
//! is listed, so a change while walking is seen next time, and a walk
//! with a folder changed in the last [`RACY_FOLDER_MARGIN`] is not
//! remembered (mtimes come from a coarse clock: a change just after could
//! keep the same one). A file that is off in any way is walked again and
//! written anew (whole, renamed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::hash::Fnv1a;
use crate::link_args::candidates;
use crate::time::RACY_FOLDER_MARGIN;

/// How deep multilib folders go (arm-none-eabi: `thumb/v7e-m+fp/hard`).
const MULTILIB_DEPTH: usize = 3;

/// A file's or folder's stamp for the key: (mtime in ns, size); zeros
/// when it cannot be read.
pub(crate) fn stamp(p: &Path) -> (u128, u64) {
    let meta = std::fs::metadata(p).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|t| t.as_nanos())
        .unwrap_or(0);
    (mtime, meta.map(|m| m.len()).unwrap_or(0))
}

/// The folders of a walk, in order, with their stamps, and the files of
/// each `-l` library looked up in them.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Walked {
    roots: Vec<PathBuf>,
    pub(crate) folders: Vec<(PathBuf, (u128, u64))>,
    pub(crate) libraries: BTreeMap<String, Vec<PathBuf>>,
}

/// The walk of `roots` with each of `names` (`-l` operands) looked up:
/// remembered in `memo_dir` when it is still true, else walked and
/// remembered there. `None` when a library is in none of the folders.
pub(crate) fn walked(
    roots: &[&PathBuf],
    names: &[String],
    memo_dir: Option<&Path>,
) -> Option<Walked> {
    let roots: Vec<PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    let file = memo_dir.map(|d| d.join(memo_name(&roots)));
    let remembered = file
        .as_deref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| serde_json::from_slice::<Walked>(&bytes).ok())
        .filter(|w| w.roots == roots && w.folders.iter().all(|(p, s)| stamp(p) == *s));
    let mut changed = remembered.is_none();
    let mut walk = remembered.unwrap_or_else(|| walk(roots));
    for name in names {
        if !walk.libraries.contains_key(name) {
            let found = find(&walk.folders, name)?;
            walk.libraries.insert(name.clone(), found);
            changed = true;
        }
    }
    if changed && let Some(file) = &file {
        let settled = SystemTime::now()
            .checked_sub(RACY_FOLDER_MARGIN)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |t| t.as_nanos());
        if walk.folders.iter().all(|(_, (mtime, _))| *mtime < settled) {
            remember(file, &walk);
        }
    }
    Some(walk)
}

fn memo_name(roots: &[PathBuf]) -> String {
    let mut h = Fnv1a::new();
    for r in roots {
        h.write(r.as_os_str().as_encoded_bytes());
        h.write(&[0]);
    }
    format!(".folders-{:016x}.json", h.finish())
}

fn walk(roots: Vec<PathBuf>) -> Walked {
    let mut folders = Vec::new();
    for dir in &roots {
        let depth = if system_library_folder(dir) {
            0
        } else {
            MULTILIB_DEPTH
        };
        stamped_subfolders(dir, depth, &mut folders);
    }
    Walked {
        roots,
        folders,
        libraries: BTreeMap::new(),
    }
}

/// Every candidate file of `name` in the first folder that has one (ld
/// takes the `.so` before the `.a` unless told otherwise).
fn find(folders: &[(PathBuf, (u128, u64))], name: &str) -> Option<Vec<PathBuf>> {
    folders.iter().find_map(|(d, _)| {
        let here: Vec<PathBuf> = candidates(name)
            .into_iter()
            .map(|f| d.join(f))
            .filter(|f| f.is_file())
            .collect();
        (!here.is_empty()).then_some(here)
    })
}

/// Writes the walk whole beside `file` and renames it over; a failure
/// leaves the walk to be done again next time.
fn remember(file: &Path, walk: &Walked) {
    let Ok(bytes) = serde_json::to_vec(walk) else {
        return;
    };
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}", std::process::id()));
    let tmp = file.with_file_name(name);
    if std::fs::write(&tmp, bytes).is_err() || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The host's own library folders (`/usr/lib`, `/lib/x86_64-linux-gnu`,
/// …): their subfolders are other software's (Python's, systemd's), not a
/// toolchain's multilib variants, and walking them cost a host link ~40
/// ms; a cross toolchain's folders (`/usr/lib/arm-none-eabi/newlib`) are
/// walked.
pub(crate) fn system_library_folder(dir: &Path) -> bool {
    let text = dir.to_string_lossy();
    let roots = [
        "/lib",
        "/lib64",
        "/lib32",
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib32",
        "/usr/local/lib",
    ];
    roots.iter().any(|root| {
        text == *root
            || text
                .strip_prefix(root)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|triplet| !triplet.contains('/') && triplet.ends_with("-linux-gnu"))
    })
}

/// `dir` and its folders down to `depth` levels, sorted, each stamped
/// before it is listed.
fn stamped_subfolders(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, (u128, u64))>) {
    out.push((dir.to_path_buf(), stamp(dir)));
    if depth == 0 {
        return;
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subs.sort();
    for sub in subs {
        stamped_subfolders(&sub, depth - 1, out);
    }
}
