//! What a link reads, and whether zccache's key covers all of it. zccache
//! 1.15.8 keys a link by the contents of the operands its line names with
//! an object or library extension, the tool binary and the flags as text.
//! What escapes that key (measured or read from its parser):
//!
//! * a library found by search: `cc m.o -L. -lf` with a changed `libf.a`
//!   came back from its cache linked with the old one (measured);
//! * any other operand (`main.c`, `x.ld`, `lib.so.1`, the `now` of
//!   `-z now`) is dropped, and a file named inside `-Wl,`
//!   (`--version-script=v.map`) is keyed as text only;
//! * the toolchain's own files (`crt1.o`, `libgcc.a`, `libc.a`, a `-lm`),
//!   and the linker program the driver runs.
//!
//! So a link goes through the cache only when [`cacheable`] (its line
//! names every input as a keyed operand, and nothing the key cannot see)
//! and a [`key_flag`] can be made: every `-l` library found in the
//! toolchain's library folders, whose fingerprint — the folders'
//! mtimes (a package update renames files into them), the files that link
//! actually takes from them, the linker's, the working directory — travels
//! as a define the key includes (a driver ignores a define when it only
//! links). What the key drops but a define can carry is allowed on a
//! driver's line, in the fingerprint: the line itself as text (the keyword
//! of `-z noexecstack`), and by content a versioned shared library
//! (`libz.so.1.2.13`, as CMake links its own) and a version script or
//! dynamic list inside `-Wl,` (self-contained files: neither includes
//! another).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::hash::Fnv1a;

/// The flag's name: `-D<NAME>=<fingerprint>`.
pub const KEY_DEFINE: &str = "__FBUILD_TOOLCHAIN_LIBS";

/// Variables with which GCC's driver or ld find or make files of their
/// own choosing: set, a link may read what no key covers.
const SEARCH_VARS: &[&str] = &[
    "LIBRARY_PATH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "LD_RUN_PATH",
    "LDEMULATION",
    "GNUTARGET",
];

/// Operand extensions zccache hashes the contents of.
const KEYED: &[&str] = &["o", "obj", "a", "lib", "lo", "so", "dylib", "dll"];

/// Options (alone or as `-opt=…`/`-optVALUE`) that name a file or change
/// what is searched or run: a link with one is not cached.
const OPAQUE: &[&str] = &[
    "-T",
    "--script",
    "-dT",
    "--default-script",
    "@",
    "-specs",
    "--specs",
    "-B",
    "-Xlinker",
    "--sysroot",
    "-isysroot",
    "-fuse-ld",
    "--version-script",
    "--dynamic-list",
    "--just-symbols",
    "--retain-symbols-file",
    "--symbol-ordering-file",
    // Where ld finds a shared library's own dependencies.
    "-rpath-link",
    "--rpath-link",
    "--section-ordering-file",
    "--export-dynamic-symbol-list",
    "-plugin",
    "--plugin",
    "--mri-script",
    "--incremental",
    "-R",
    "--compile",
    "--preprocess",
    "--assemble",
    // Another ABI's library folders, which the probe (without the flag)
    // did not see.
    "-m32",
    "-mx32",
    "-m16",
];

/// `-Wl,` options naming a self-contained file a driver's link may carry
/// in its fingerprint.
const HASHED_WL: &[&str] = &["--version-script", "--dynamic-list"];

/// Who runs the link: a compiler driver (its line may carry the
/// fingerprint of [`key_flag`], so files hashed into it are allowed) or
/// `ld` itself (nothing but the key of zccache: it adds no file of its
/// own, and a library it searches for, `-l`, is in no key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linker {
    Driver,
    Ld,
}

/// Whether every input of the link `args` (run in `cwd`, in this process's
/// environment) is a keyed operand of its line or comes from a searched
/// `-l` (checked with the folders by [`key_flag`]), see the module's text.
pub fn cacheable(args: &[String], cwd: &Path, linker: Linker) -> bool {
    if SEARCH_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return false;
    }
    let hashed = linker == Linker::Driver;
    let mut expects_value = false;
    // A call with no input (`-dumpversion`, `-print-search-dirs`) links
    // nothing: the tool answers it alone.
    let mut inputs = 0;
    for a in args {
        if std::mem::take(&mut expects_value) {
            continue;
        }
        if let Some(wl) = a.strip_prefix("-Wl,") {
            if !wl_parts_keyed(wl, cwd, hashed) {
                return false;
            }
        } else if opaque(a) || a == "-c" || (!hashed && a.starts_with("-l")) {
            return false;
        } else if matches!(a.as_str(), "-o" | "-L" | "-l") {
            expects_value = true;
        } else if a == "-z" {
            // `-z KEYWORD`: zccache drops the keyword from its key; a
            // driver's fingerprint carries the whole line as text.
            if !hashed {
                return false;
            }
            expects_value = true;
        } else if a.starts_with("-L=")
            || a.starts_with("-L$")
            || (!a.starts_with('-') && !operand_covered(&cwd.join(a), hashed))
        {
            return false;
        } else if !a.starts_with('-') {
            inputs += 1;
        }
    }
    inputs > 0 && !expects_value && !searched_in_line_dirs(args, cwd)
}

/// An operand zccache keys, or (`hashed`) one the fingerprint carries.
fn operand_covered(path: &Path, hashed: bool) -> bool {
    keyed_operand(path) || (hashed && versioned_shared_library(path))
}

fn opaque(a: &str) -> bool {
    OPAQUE.iter().any(|o| a.starts_with(o)) || opaque_long(a)
}

/// `ld` takes its long options with one dash too (`-version-script=v`,
/// `-script=x.ld`): the same as with two.
fn long_form(a: &str) -> Option<String> {
    (a.len() > 2 && a.starts_with('-') && !a.starts_with("--")).then(|| format!("-{a}"))
}

fn opaque_long(a: &str) -> bool {
    long_form(a).is_some_and(|l| {
        OPAQUE
            .iter()
            .any(|o| o.starts_with("--") && l.starts_with(o))
    })
}

/// `-Wl,` parts: none opaque, none a search, none naming a file (keyed as
/// text only) but an output map and, when `hashed`, a version script or
/// dynamic list (see [`hashed_files`]).
fn wl_parts_keyed(wl: &str, cwd: &Path, hashed: bool) -> bool {
    let parts: Vec<&str> = wl.split(',').collect();
    let mut skip_next = false;
    for (i, p) in parts.iter().enumerate() {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if *p == "-Map" {
            skip_next = true; // names an output
            continue;
        }
        if hashed && let Some(file) = hashed_wl_file(&parts, i) {
            if !cwd.join(file).is_file() {
                return false;
            }
            skip_next = !p.contains('=');
            continue;
        }
        if opaque(p)
            || p.starts_with("-l")
            || p.starts_with("-L")
            || p.starts_with("--library")
            || *p == "-c"
            || (!p.is_empty() && !p.starts_with('-') && cwd.join(p).is_file())
        {
            return false;
        }
    }
    true
}

/// The file of a [`HASHED_WL`] option at `parts[i]` (`--version-script=f`
/// or `--version-script,f`).
fn hashed_wl_file<'a>(parts: &[&'a str], i: usize) -> Option<&'a str> {
    let p = parts[i];
    HASHED_WL.iter().find_map(|o| {
        // `--version-script`, or as ld takes it too, `-version-script`.
        let rest = p.strip_prefix(o).or_else(|| p.strip_prefix(&o[1..]))?;
        match rest {
            "" => parts.get(i + 1).copied(),
            rest => rest.strip_prefix('='),
        }
    })
}

/// A binary shared library named with its version (`libz.so.1.2.13`),
/// which zccache drops from its key.
fn versioned_shared_library(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let versioned = name.split_once(".so.").is_some_and(|(stem, version)| {
        !stem.is_empty()
            && !version.is_empty()
            && version
                .split('.')
                .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
    });
    versioned && binary_library(path)
}

/// The files of a driver's link whose contents go into its fingerprint:
/// versioned shared libraries and `-Wl,` version scripts and dynamic lists.
fn hashed_files(args: &[String], cwd: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        // The values of `-o`, `-L`, `-l`, `-z` (the output of the last
        // build is not an input).
        if std::mem::replace(&mut skip, matches!(a.as_str(), "-o" | "-L" | "-l" | "-z")) {
            continue;
        }
        if let Some(wl) = a.strip_prefix("-Wl,") {
            let parts: Vec<&str> = wl.split(',').collect();
            out.extend(
                (0..parts.len())
                    .filter_map(|i| hashed_wl_file(&parts, i))
                    .map(|f| cwd.join(f)),
            );
        } else if !a.starts_with('-') && versioned_shared_library(&cwd.join(a)) {
            out.push(cwd.join(a));
        }
    }
    out
}

/// An operand zccache keys by content: a keyed extension, and for a shared
/// library a binary one (a `.so` that is a text linker script names other
/// files).
fn keyed_operand(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let Some(ext) = ext.filter(|e| KEYED.contains(&e.as_str())) else {
        return false;
    };
    if !matches!(ext.as_str(), "so" | "dylib") {
        // A thin archive holds its members' names only: the same bytes
        // for changed members.
        return !thin_archive(path);
    }
    binary_library(path)
}

/// An archive made with `ar T` (`!<thin>`): it names its members.
fn thin_archive(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut magic)
    });
    read.is_ok() && &magic == b"!<thin>\n"
}

/// An ELF or Mach-O file (not a text linker script standing in for one).
fn binary_library(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut magic)
    });
    read.is_ok()
        && (magic == *b"\x7fELF"
            || matches!(
                u32::from_be_bytes(magic),
                0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe | 0xcafe_babe
            ))
}

/// Whether a `-l` library lies in a `-L` folder of the line.
fn searched_in_line_dirs(args: &[String], cwd: &Path) -> bool {
    let dirs = following(args, "-L");
    following(args, "-l").iter().any(|name| {
        dirs.iter().any(|d| {
            candidates(name)
                .iter()
                .any(|f| cwd.join(d).join(f).exists())
        })
    })
}

/// The file names `-l name` may stand for (GNU ld, MinGW's too).
fn candidates(name: &str) -> Vec<String> {
    if let Some(file) = name.strip_prefix(':') {
        return vec![file.to_string()];
    }
    let mut out: Vec<String> = ["a", "so", "dylib", "lib", "dll.a", "dll"]
        .iter()
        .map(|ext| format!("lib{name}.{ext}"))
        .collect();
    out.extend([
        format!("{name}.lib"),
        format!("{name}.dll.a"),
        format!("{name}.dll"),
        format!("cyg{name}.dll"),
    ]);
    out
}

/// The values of `-Xvalue` / `-X value` options.
fn following(args: &[String], option: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == option {
            out.extend(it.next().cloned());
        } else if let Some(v) = a.strip_prefix(option) {
            out.push(v.to_string());
        }
    }
    out
}

/// The modifiers an `ar` call that writes a whole new archive goes to the
/// cache with: `D` added (zccache caches only deterministic archives),
/// or `None` when the call is not for the cache — modifiers not all in
/// one word (`ar -r -c lib.a`), a position or count modifier (`a`, `b`,
/// `i`, `N`), a thin archive or full paths (`T`, `P`), dates asked for
/// (`U`), or `u` (zccache 1.15.8 fails `ar rcuD`: "failed to materialize
/// archive output", measured).
pub fn archive_modifiers(first: &str) -> Option<String> {
    let letters = first.strip_prefix('-').unwrap_or(first);
    let plain = !letters.is_empty() && letters.bytes().all(|b| b.is_ascii_alphabetic());
    if !plain || letters.contains(['a', 'b', 'i', 'N', 'u', 'U', 'T', 'P']) {
        return None;
    }
    Some(match letters.contains('D') {
        true => first.to_string(),
        false => format!("{first}D"),
    })
}

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
fn system_library_folder(dir: &Path) -> bool {
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

#[cfg(test)]
#[path = "link_inputs_tests.rs"]
mod tests;
