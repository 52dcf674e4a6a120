//! The fingerprint of what a driver's link takes from its toolchain
//! (`-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint>`, see `link_inputs`): the
//! toolchain's library folders and their multilib subfolders, the files
//! it adds, each `-l` library, the line as text and the files a key drops.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::hash::Fnv1a;
use crate::link_args::{candidates, following, hashed_files};

/// The flag's name: `-D<NAME>=<fingerprint>`.
pub const KEY_DEFINE: &str = "__FBUILD_TOOLCHAIN_LIBS";

/// The library folders of `compiler -print-search-dirs`'s output (GCC's
/// `libraries: =a:b` line; a compiler that prints them otherwise, as
/// TinyCC does, gives none).
pub fn library_dirs(search_dirs: &str) -> Vec<PathBuf> {
    let Some(line) = search_dirs
        .lines()
        .find_map(|l| l.strip_prefix("libraries:"))
    else {
        return Vec::new();
    };
    let line = line.trim().trim_start_matches('=');
    std::env::split_paths(line)
        .filter(|d| d.is_dir())
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect()
}

/// How deep multilib folders go (arm-none-eabi: `thumb/v7e-m+fp/hard`).
const MULTILIB_DEPTH: usize = 3;

/// `-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint>` for the link `args` in `cwd`,
/// where `known` are the toolchain's library folders and files (the
/// linker, the libraries a driver adds): each folder's and its multilib
/// subfolders' mtimes, each known file's, each `-l` library's, and `cwd`
/// (LTO's debug info records it). `None` when a `-l` library is in none of
/// the folders (ld would search its own, which no fingerprint covers).
pub fn key_flag(args: &[String], cwd: &Path, known: &[PathBuf]) -> Option<String> {
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = known.iter().partition(|p| p.is_dir());
    let mut h = Fnv1a::new();
    let mut stamp = |p: &Path| {
        let meta = std::fs::metadata(p).ok();
        let mtime = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|t| t.as_nanos())
            .unwrap_or(0);
        h.write(p.as_os_str().as_encoded_bytes());
        h.write(&mtime.to_le_bytes());
        h.write(&meta.map(|m| m.len()).unwrap_or(0).to_le_bytes());
    };
    let mut folders = Vec::new();
    for dir in &dirs {
        let depth = if system_library_folder(dir) {
            0
        } else {
            MULTILIB_DEPTH
        };
        folders.extend(subfolders(dir, depth));
    }
    for folder in &folders {
        stamp(folder);
    }
    // ld finds a shared library's own dependencies in LD_LIBRARY_PATH's
    // folders (set by cargo and many IDEs: a variable that only refused
    // the cache would refuse it everywhere there).
    if let Some(dirs) = std::env::var_os("LD_LIBRARY_PATH") {
        for dir in std::env::split_paths(&dirs) {
            stamp(&dir);
        }
    }
    for file in &files {
        stamp(file);
    }
    for name in following(args, "-l") {
        // Every candidate of the first folder that has one (ld takes the
        // `.so` before the `.a` unless told otherwise).
        let found = folders.iter().find_map(|d| {
            let here: Vec<PathBuf> = candidates(&name)
                .into_iter()
                .map(|f| d.join(f))
                .filter(|f| f.is_file())
                .collect();
            (!here.is_empty()).then_some(here)
        })?;
        for file in &found {
            stamp(file);
        }
    }
    // The line as text (zccache drops operands it does not know, such as
    // the keyword of `-z noexecstack`), and the inputs it drops by content.
    for a in args {
        h.write(a.as_bytes());
        h.write(&[0]);
    }
    for file in hashed_files(args, cwd) {
        let bytes = std::fs::read(&file).ok()?;
        h.write(file.as_os_str().as_encoded_bytes());
        h.write(&(bytes.len() as u64).to_le_bytes());
        h.write(&bytes);
    }
    // The folder linked in by its name (its mtime changes with every file
    // written there).
    h.write(cwd.as_os_str().as_encoded_bytes());
    // PE and Mach-O libraries carry their own file name (a DLL's export
    // table, an install name): the output is part of the key there.
    if cfg!(any(windows, target_os = "macos")) {
        for out in following(args, "-o") {
            h.write(out.as_bytes());
        }
    }
    Some(format!("-D{KEY_DEFINE}={:016x}", h.finish()))
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

/// `dir` and its folders down to `depth` levels, sorted.
fn subfolders(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if depth == 0 {
        return out;
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
        out.extend(subfolders(&sub, depth - 1));
    }
    out
}
