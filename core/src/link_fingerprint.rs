//! The fingerprint of what a driver's link takes from its toolchain
//! (`-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint>`, see `link_inputs`): the
//! toolchain's library folders and their multilib subfolders, the files
//! it adds, each `-l` library, the line as text and the files a key drops.

use std::path::{Path, PathBuf};

use crate::hash::Fnv1a;
use crate::link_args::{following, hashed_files};
use crate::link_folders;

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

/// `-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint>` for the link `args` in `cwd`,
/// where `known` are the toolchain's library folders and files (the
/// linker, the libraries a driver adds): the stamp (mtime, size, ctime)
/// of each folder and its multilib subfolders, of each known file and each
/// `-l` library's, and `cwd`
/// (LTO's debug info records it). `None` when a `-l` library is in none of
/// the folders (ld would search its own, which no fingerprint covers).
/// The folders' walk is remembered in `memo_dir` (the link store), see
/// `link_folders`.
pub fn key_flag(
    args: &[String],
    cwd: &Path,
    known: &[PathBuf],
    memo_dir: Option<&Path>,
) -> Option<String> {
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = known.iter().partition(|p| p.is_dir());
    let names = following(args, "-l");
    let walked = link_folders::walked(&dirs, &names, memo_dir)?;
    let mut h = Fnv1a::new();
    for (folder, stamp) in &walked.folders {
        write_stamp(&mut h, folder, *stamp);
    }
    let mut stamp = |p: &Path| write_stamp(&mut h, p, link_folders::stamp(p));
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
    for name in &names {
        for file in walked
            .libraries
            .get(name)
            .into_iter()
            .flat_map(|f| &f.files)
        {
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

fn write_stamp(h: &mut Fnv1a, p: &Path, s: link_folders::Stamp) {
    h.write(p.as_os_str().as_encoded_bytes());
    h.write(&s.mtime.to_le_bytes());
    h.write(&s.size.to_le_bytes());
    h.write(&s.ctime.to_le_bytes());
}
