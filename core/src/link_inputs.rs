//! What a link reads, and whether zccache's key covers all of it. zccache
//! 1.15.8 keys a link by the contents of the files its line names, the
//! tool and the flags. Two kinds of input escape that key:
//!
//! * a library found by search: `cc m.o -L. -lf` with a changed `libf.a`
//!   came back from its cache linked with the old one (measured);
//! * the toolchain's own files the driver adds (`crt1.o`, `libgcc.a`,
//!   `libc.a`; `libm.a` for `-lm`): a toolchain library updated without a
//!   new compiler binary would leave cached programs with the old code.
//!
//! So a link goes through the cache only when [`cacheable`]: no library a
//! `-l` names lies in a `-L` folder of the line (it comes from the
//! toolchain's own folders), and no linker script, `@file`, `-specs`, `-B`,
//! `-Xlinker` or search inside `-Wl,`; and a fingerprint of the
//! toolchain's library folders travels as a flag the key includes
//! ([`key_flag`]: a define, which a driver ignores when it only links).
//! A package manager replaces a library by renaming it into its folder,
//! which changes the folder's mtime, so the fingerprint is of the folders
//! (and their subfolders: GCC's multilib directories), stat'ed per plan.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::hash::Fnv1a;

/// The flag's name: `-D<NAME>=<fingerprint>`.
pub const KEY_DEFINE: &str = "__FBUILD_TOOLCHAIN_LIBS";

/// Variables with which GCC's driver finds files of its own choosing
/// (`LIBRARY_PATH` adds library folders, the others other programs and
/// startup files): set, a link may read what no key covers.
const SEARCH_VARS: &[&str] = &["LIBRARY_PATH", "GCC_EXEC_PREFIX", "COMPILER_PATH"];

/// Whether every input of the link `args` (run in `cwd`, in this process's
/// environment) is named on its line or is the toolchain's own (see the
/// module's text).
pub fn cacheable(args: &[String], cwd: &Path) -> bool {
    if SEARCH_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return false;
    }
    let opaque = |a: &str| {
        a.starts_with("-T")
            || a.starts_with("--script")
            || a.starts_with('@')
            || a.starts_with("-specs")
            || a.starts_with("--specs")
            || a.starts_with("-B")
            || a == "-Xlinker"
    };
    let in_wl = |w: &str| {
        w.split(',').any(|p| {
            opaque(p) || p.starts_with("-l") || p.starts_with("-L") || p.starts_with("--library")
        })
    };
    if args
        .iter()
        .any(|a| opaque(a) || a.strip_prefix("-Wl,").is_some_and(in_wl))
    {
        return false;
    }
    let dirs = following(args, "-L");
    following(args, "-l").iter().all(|name| {
        let files = match name.strip_prefix(':') {
            Some(file) => vec![file.to_string()],
            None => ["a", "so", "dylib", "lib", "dll.a"]
                .iter()
                .map(|ext| format!("lib{name}.{ext}"))
                .chain([format!("{name}.lib")])
                .collect(),
        };
        !dirs
            .iter()
            .any(|d| files.iter().any(|f| cwd.join(d).join(f).exists()))
    })
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

/// The library folders of `compiler -print-search-dirs`'s output.
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

/// `-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint of dirs>`: each folder's and
/// each of its subfolders' path and mtime.
pub fn key_flag(dirs: &[PathBuf]) -> String {
    let mut h = Fnv1a::new();
    let mut stamp = |d: &Path| {
        let mtime = std::fs::metadata(d)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|t| t.as_nanos())
            .unwrap_or(0);
        h.write(d.as_os_str().as_encoded_bytes());
        h.write(&mtime.to_le_bytes());
    };
    for dir in dirs {
        stamp(dir);
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for sub in &subdirs {
            stamp(sub);
        }
    }
    format!("-D{KEY_DEFINE}={:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn searched_libraries_scripts_and_response_files_are_not_cacheable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libf.a"), "").unwrap();
        let ok = |s: &str| cacheable(&args(s), dir.path());
        assert!(ok("a.o b.o -o prog -Wl,-Map,prog.map -Wl,--gc-sections"));
        assert!(ok("a.o -o prog -lm"), "-lm comes from the toolchain");
        assert!(ok("a.o -o prog -L. -lm"), "no libm in .");
        assert!(!ok("a.o -o prog -L. -lf"));
        assert!(!ok("a.o -o prog -L . -l f"));
        assert!(!ok("a.o -o prog -L. -l:libf.a"));
        for opaque in [
            "-T x.ld",
            "-Wl,-T,x.ld",
            "@rsp",
            "-Wl,-L.,-lf",
            "-specs=nano.specs",
            "-B/x",
            "-Xlinker -lf",
        ] {
            assert!(!ok(&format!("a.o -o prog {opaque}")), "{opaque}");
        }
    }

    #[test]
    fn the_fingerprint_follows_the_folders() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(lib.join("avr5")).unwrap();
        let text = format!("install: /x\nlibraries: ={}\n", lib.display());
        let dirs = library_dirs(&text);
        assert_eq!(dirs, vec![std::fs::canonicalize(&lib).unwrap()]);
        // The multilib folder last changed long ago.
        let old = UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::open(lib.join("avr5"))
            .and_then(|d| d.set_modified(old))
            .unwrap();
        let before = key_flag(&dirs);
        assert!(before.starts_with("-D__FBUILD_TOOLCHAIN_LIBS="));
        assert_eq!(key_flag(&dirs), before);
        // A library replaced in it (written aside, renamed).
        std::fs::write(lib.join("avr5/libm.a.tmp"), "x").unwrap();
        std::fs::rename(lib.join("avr5/libm.a.tmp"), lib.join("avr5/libm.a")).unwrap();
        assert_ne!(key_flag(&dirs), before);
    }
}
