//! A toolchain's library folders as last walked, for the link fingerprint
//! (`link_fingerprint::key_flag`): the folders under each library folder
//! (multilib variants), each one's stamp, and where each `-l` library was
//! found. Walking them took a link hit of avr-gcc ~3 ms of its ~8 (92
//! folders listed, 33 looked through for each candidate name of `-lm`).
//!
//! Remembered in the link store as `.folders-<hash of the roots>.json`
//! (a dot file: no entry; pruned by age as staging is), on Unix only: a
//! remembered walk is taken only while every folder's stamp — mtime,
//! size and ctime — is the one remembered, and ctime is what makes that
//! safe: adding, removing or renaming an entry, or a chmod, sets a
//! folder's ctime to the kernel's clock, and no tool can set it back
//! (`tar x`, `cp -a`, `rsync -a` and `touch -d` restore mtimes only).
//! Windows has no ctime to read, so it walks every time. Also taken again
//! only while each library found is still a file and each candidate that
//! was a dangling link still is one (a link's target lives elsewhere).
//! A walk is not remembered when a folder's ctime is not older than the
//! file the walk is written to (the file system's own clock, which stamps
//! with coarse ticks: a change in the same tick would keep the stamp);
//! `-l` names with a folder in them (`-l:sub/libx.a`) are looked up anew
//! every time. A file that is off in any way is walked again and written
//! anew (whole, under a unique name, renamed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::hash::Fnv1a;
use crate::link_args::candidates;

/// How deep multilib folders go (arm-none-eabi: `thumb/v7e-m+fp/hard`).
const MULTILIB_DEPTH: usize = 3;

/// A file's or folder's stamp for the key: mtime and ctime in ns (ctime 0
/// where there is none), size; zeros when it cannot be read.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy, Default)]
pub(crate) struct Stamp {
    pub mtime: u128,
    pub size: u64,
    pub ctime: u128,
}

pub(crate) fn stamp(p: &Path) -> Stamp {
    let Ok(meta) = std::fs::metadata(p) else {
        return Stamp::default();
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |t| t.as_nanos());
    Stamp {
        mtime,
        size: meta.len(),
        ctime: ctime(&meta),
    }
}

#[cfg(unix)]
fn ctime(meta: &std::fs::Metadata) -> u128 {
    use std::os::unix::fs::MetadataExt;
    (meta.ctime().max(0) as u128) * 1_000_000_000 + meta.ctime_nsec().max(0) as u128
}

#[cfg(not(unix))]
fn ctime(_: &std::fs::Metadata) -> u128 {
    0
}

/// The folders of a walk, in order, with their stamps, and what each `-l`
/// library was found as.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Walked {
    roots: Vec<PathBuf>,
    pub(crate) folders: Vec<(PathBuf, Stamp)>,
    pub(crate) libraries: BTreeMap<String, Found>,
}

/// A library's files (every candidate of the first folder that has one)
/// and the candidates before them that were links to nothing.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
pub(crate) struct Found {
    pub(crate) files: Vec<PathBuf>,
    dangling: Vec<PathBuf>,
}

impl Found {
    /// Still what a lookup would find, as far as the folders' stamps
    /// cannot tell.
    fn holds(&self) -> bool {
        self.files.iter().all(|f| f.is_file()) && self.dangling.iter().all(|f| !f.is_file())
    }
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
    let file = memo_dir
        .filter(|_| cfg!(unix))
        .map(|d| d.join(memo_name(&roots)));
    let remembered = file
        .as_deref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| serde_json::from_slice::<Walked>(&bytes).ok())
        .filter(|w| w.roots == roots && w.folders.iter().all(|(p, s)| stamp(p) == *s));
    let mut changed = remembered.is_none();
    let mut walk = remembered.unwrap_or_else(|| walk(roots));
    let before = walk.libraries.len();
    walk.libraries.retain(|_, found| found.holds());
    changed |= walk.libraries.len() != before;
    let mut looked_up = BTreeMap::new();
    for name in names {
        if let Some(found) = walk.libraries.get(name) {
            looked_up.insert(name.clone(), found.clone());
            continue;
        }
        let found = find(&walk.folders, name)?;
        // A name with a folder in it looks where no stamp covers.
        if !name.contains(['/', '\\']) {
            walk.libraries.insert(name.clone(), found.clone());
            changed = true;
        }
        looked_up.insert(name.clone(), found);
    }
    if changed && let Some(file) = &file {
        remember(file, &walk);
    }
    walk.libraries = looked_up;
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
/// takes the `.so` before the `.a` unless told otherwise), and the
/// candidates before it that are links to nothing.
fn find(folders: &[(PathBuf, Stamp)], name: &str) -> Option<Found> {
    let mut dangling = Vec::new();
    for (dir, _) in folders {
        let mut files = Vec::new();
        for candidate in candidates(name).into_iter().map(|f| dir.join(f)) {
            if candidate.is_file() {
                files.push(candidate);
            } else if candidate.symlink_metadata().is_ok() {
                dangling.push(candidate);
            }
        }
        if !files.is_empty() {
            return Some(Found { files, dangling });
        }
    }
    None
}

/// Writes the walk whole under a unique name beside `file` and renames it
/// over, unless a folder changed in the file system's current tick (the
/// new file's own ctime); a failure leaves the walk to be done again.
fn remember(file: &Path, walk: &Walked) {
    let Ok(bytes) = serde_json::to_vec(walk) else {
        return;
    };
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}", unique()));
    let tmp = file.with_file_name(name);
    if std::fs::write(&tmp, bytes).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    let now = stamp(&tmp).ctime;
    let settled = walk
        .folders
        .iter()
        .all(|(_, s)| s.ctime < now && s.mtime < now);
    if !settled || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// A name no other process or thread writing the same walk takes.
fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{n}-{nanos}", std::process::id())
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
fn stamped_subfolders(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, Stamp)>) {
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
