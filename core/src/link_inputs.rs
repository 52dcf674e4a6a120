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

use std::path::Path;

use crate::link_args::{
    binary_library, candidates, following, hashed_wl_file, versioned_shared_library,
};
pub use crate::link_fingerprint::{KEY_DEFINE, key_flag, library_dirs};

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

#[cfg(test)]
#[path = "link_inputs_tests.rs"]
mod tests;
