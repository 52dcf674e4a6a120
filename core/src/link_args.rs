//! Reading a link line: the values of an option, the files `-l name` may
//! stand for, the files of a line whose contents a driver's fingerprint
//! carries (versioned shared libraries, `-Wl,` version scripts and
//! dynamic lists). Shared by `link_inputs` (what may be cached) and
//! `link_fingerprint` (the key).

use std::path::{Path, PathBuf};

/// `-Wl,` options naming a self-contained file a driver's link may carry
/// in its fingerprint.
const HASHED_WL: &[&str] = &["--version-script", "--dynamic-list"];

/// The file of a [`HASHED_WL`] option at `parts[i]` (`--version-script=f`
/// or `--version-script,f`).
pub(crate) fn hashed_wl_file<'a>(parts: &[&'a str], i: usize) -> Option<&'a str> {
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
pub(crate) fn versioned_shared_library(path: &Path) -> bool {
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
pub(crate) fn hashed_files(args: &[String], cwd: &Path) -> Vec<PathBuf> {
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

/// An ELF or Mach-O file (not a text linker script standing in for one).
pub(crate) fn binary_library(path: &Path) -> bool {
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

/// The file names `-l name` may stand for (GNU ld, MinGW's too).
pub(crate) fn candidates(name: &str) -> Vec<String> {
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
pub(crate) fn following(args: &[String], option: &str) -> Vec<String> {
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
