//! What makes a core or library the same build in every project: the
//! key of its library store entry (`lib_store`), or `None` when its
//! compiles read something of the project's.
//!
//! The key (sha256) covers each compile (the compiler by path, size and
//! mtime; every argument; the source) and the archive's commands, with the
//! paths of the project's build folder written relative to it (`-o`,
//! `-MF`, the archive). A group whose commands still name the project's
//! folder or its build folder (`-I<project>/include`, a core's
//! `-I{build.path}/…`), or name a file relatively (`-Iinclude` in
//! `build_flags`, read from the project as working folder; `@file`), is
//! the project's own: two projects with different `include/config.h`
//! never share it.
//!
//! One exception: a search folder of the project's (`-I<project>/include`,
//! `-I<project>/lib/Foo`) stands in the key as the names of the files in
//! it. Which header an `#include` finds depends only on the names each
//! folder holds; a compile that read one of those files is the project's
//! own (`lib_store` keeps no group whose inputs are the project's), and
//! one that read none is the same build wherever the folder is (GCC keeps
//! no `-I` in an object: measured, avr-gcc 7.3 with `-g -flto`).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::recipes::Command;

/// Options whose operand is a folder the compiler searches for headers.
pub const SEARCH_OPTIONS: &[&str] = &["-I", "-iquote", "-isystem", "-idirafter"];

/// The search options whose headers a depfile lists (`-MMD` leaves out
/// those found in system folders: `-isystem`, `-idirafter`): only through
/// these may a project folder count by its names.
const NAMED_OPTIONS: &[&str] = &["-I", "-iquote"];

/// Environment variables that change what GCC compiles (search folders it
/// leaves out of depfiles, its own programs, the build date).
const ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "SOURCE_DATE_EPOCH",
    "DEPENDENCIES_OUTPUT",
    "SUNPRO_DEPENDENCIES",
];

/// Options whose objects name the project's folders (coverage data
/// written beside the first project's objects).
const PATH_EMBEDDING: &[&str] = &[
    "--coverage",
    "-fprofile-arcs",
    "-fprofile-generate",
    "-ftest-coverage",
];

/// The names of the files under each of the project's search folders
/// (hashed), read once per build; `None` for a folder that could not be
/// listed whole.
#[derive(Default)]
pub struct NameSets(HashMap<PathBuf, Option<String>>);

impl NameSets {
    fn of(&mut self, dir: &Path) -> Option<&str> {
        self.0
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let mut names = Vec::new();
                list(dir, Path::new(""), 0, &mut names)?;
                names.sort();
                let digest = Sha256::digest(names.join("\n").as_bytes());
                Some(digest.iter().map(|b| format!("{b:02x}")).collect())
            })
            .as_deref()
    }
}

/// Every name under `dir` (as `rel/name`, links followed as GCC follows
/// them, a dangling one left out as GCC finds nothing there); `None` when
/// a folder cannot be read or the tree is deeper than a link loop allows.
fn list(dir: &Path, rel: &Path, depth: usize, out: &mut Vec<String>) -> Option<()> {
    if depth > 32 {
        return None;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth == 0 => return Some(()),
        Err(_) => return None,
    };
    for entry in entries {
        let entry = entry.ok()?;
        let path = entry.path();
        let name = rel.join(entry.file_name());
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => list(&path, &name, depth + 1, out)?,
            Ok(_) => out.push(name.to_string_lossy().into_owned()),
            Err(_) => {}
        }
    }
    Some(())
}

/// The folders `args` search for headers (absolute ones).
pub fn search_dirs(args: &[OsString]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut after = false;
    for arg in args {
        let text = arg.to_string_lossy();
        let dir = match SEARCH_OPTIONS.iter().find_map(|o| text.strip_prefix(o)) {
            Some(rest) if !rest.is_empty() => Some(rest.to_string()),
            Some(_) => None,
            None if after => Some(text.to_string()),
            None => None,
        };
        after = SEARCH_OPTIONS.iter().any(|o| text == *o);
        if let Some(dir) = dir.map(PathBuf::from).filter(|d| d.is_absolute()) {
            out.push(dir);
        }
    }
    out
}

/// Options whose operand is a file or folder the compiler reads.
const PATH_OPTIONS: &[&str] = &[
    "-I",
    "-iquote",
    "-isystem",
    "-idirafter",
    "-include",
    "-imacros",
    "-L",
    "-B",
    "--sysroot",
    "-isysroot",
];

/// The key of a group's build, from its compiles (program, arguments,
/// source) and its archive's commands; `None` when one of them depends on
/// the project. `private` are the project's folder and its build folder;
/// `outputs` the files the commands write (objects, depfiles, the
/// archive), written relative to `out_dir`, the environment's build
/// folder (any other path under it is the project's).
pub fn key(
    label: &str,
    compiles: &[(&Path, &[OsString], &Path)],
    archive: &[Command],
    out_dir: &Path,
    outputs: &[PathBuf],
    private: &[&Path],
    names: &mut NameSets,
) -> Option<String> {
    let mut hash = Sha256::new();
    hash.update(b"fbuild library store 1\0");
    hash.update(env!("CARGO_PKG_VERSION").as_bytes());
    hash.update(label.as_bytes());
    for var in ENV {
        hash.update(format!("\0{var}=").as_bytes());
        if let Some(value) = std::env::var_os(var) {
            hash.update(value.as_encoded_bytes());
        }
    }
    let mut add = |program: &Path, args: &[OsString]| -> Option<()> {
        hash.update(b"\0\0");
        hash.update(program.as_os_str().as_encoded_bytes());
        hash.update(stamp(program).as_bytes());
        let (mut expects_path, mut expects_dir) = (false, false);
        for arg in args {
            if PATH_EMBEDDING.iter().any(|o| arg == *o) {
                return None;
            }
            let arg = match outputs.iter().any(|o| o.as_os_str() == arg.as_os_str()) {
                true => relative_to(arg, out_dir),
                false => arg.clone(),
            };
            let by_names = searched_by_names(&arg, expects_dir, private, names)?;
            let arg = by_names.clone().unwrap_or(arg);
            let bytes = arg.as_encoded_bytes();
            if private.iter().any(|p| contains(bytes, p)) {
                return None;
            }
            if by_names.is_none() && names_relative_file(&arg, expects_path) {
                return None;
            }
            expects_path = PATH_OPTIONS.iter().any(|o| bytes == o.as_bytes());
            expects_dir = NAMED_OPTIONS.iter().any(|o| bytes == o.as_bytes());
            hash.update(b"\0");
            hash.update(bytes);
        }
        Some(())
    };
    for (program, args, source) in compiles {
        if private.iter().any(|p| source.starts_with(p)) {
            return None;
        }
        add(program, args)?;
    }
    for cmd in archive {
        add(&cmd.program, &cmd.args)?;
    }
    let digest = hash.finalize();
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// A search option's operand that is one of the project's folders, as
/// the names of the files in it (see the module's first lines): `Some`
/// of the replacement, or of `None` for any other argument; `None` when
/// the folder cannot be listed (the group is the project's own).
fn searched_by_names(
    arg: &OsStr,
    expects_dir: bool,
    private: &[&Path],
    names: &mut NameSets,
) -> Option<Option<OsString>> {
    let Some(text) = arg.to_str() else {
        return Some(None);
    };
    let (option, dir) = match NAMED_OPTIONS
        .iter()
        .find_map(|o| Some((*o, text.strip_prefix(o)?)))
    {
        Some((o, dir)) if !dir.is_empty() => (o, dir),
        _ if expects_dir => ("", text),
        _ => return Some(None),
    };
    let dir = Path::new(dir);
    if !dir.is_absolute() || !private.iter().any(|p| dir.starts_with(p)) {
        return Some(None);
    }
    let names = names.of(dir)?;
    Some(Some(format!("{option}@names:{names}").into()))
}

/// An output under `out_dir` as `@out/<rest>`; anything else as it is.
fn relative_to(arg: &OsStr, out_dir: &Path) -> OsString {
    match Path::new(arg).strip_prefix(out_dir) {
        Ok(rest) if Path::new(arg).is_absolute() => {
            let mut s = OsString::from("@out/");
            s.push(rest.as_os_str());
            s
        }
        _ => arg.to_os_string(),
    }
}

/// Whether `arg` names a file relative to the working folder (the
/// project's): `@file`, a path option's relative operand, joined
/// (`-Iinclude`) or after it (`expects_path`).
fn names_relative_file(arg: &OsStr, expects_path: bool) -> bool {
    let text = arg.to_string_lossy();
    if text.starts_with("@out/") {
        return false;
    }
    if text.starts_with('@') {
        return true;
    }
    let relative = |p: &str| !p.is_empty() && !Path::new(p).is_absolute();
    if expects_path {
        return relative(&text);
    }
    PATH_OPTIONS.iter().any(|o| {
        text.strip_prefix(o)
            .map(|rest| rest.strip_prefix('=').unwrap_or(rest))
            .is_some_and(relative)
    })
}

fn contains(bytes: &[u8], path: &Path) -> bool {
    let needle = path.as_os_str().as_encoded_bytes();
    !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle)
}

/// A tool's identity beside its path: size and mtime (a compiler
/// upgraded in place is another build).
pub fn stamp(program: &Path) -> String {
    let found = which_path(program);
    match std::fs::metadata(&found) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}:{}", m.len(), mtime)
        }
        Err(_) => String::new(),
    }
}

/// The program as found: itself when it has a folder, else on PATH.
fn which_path(program: &Path) -> PathBuf {
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    which::which(program).unwrap_or_else(|_| program.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    const OUT: &str = "/p/.fbuild/build/uno";

    fn key_of(list: &[&str], source: &str) -> Option<String> {
        let a = args(list);
        key(
            "core",
            &[(Path::new("/bin/sh"), &a, Path::new(source))],
            &[],
            Path::new(OUT),
            &[PathBuf::from("/p/.fbuild/build/uno/lib/x.o")],
            &[Path::new("/p"), Path::new("/p/.fbuild/build")],
            &mut NameSets::default(),
        )
    }

    #[test]
    fn outputs_under_the_build_folder_do_not_make_another_key() {
        let a = key_of(
            &["-c", "/lib/x.c", "-o", "/p/.fbuild/build/uno/lib/x.o"],
            "/lib/x.c",
        );
        let b = {
            let list = args(&["-c", "/lib/x.c", "-o", "/q/.fbuild/build/uno/lib/x.o"]);
            key(
                "core",
                &[(Path::new("/bin/sh"), &list, Path::new("/lib/x.c"))],
                &[],
                Path::new("/q/.fbuild/build/uno"),
                &[PathBuf::from("/q/.fbuild/build/uno/lib/x.o")],
                &[Path::new("/q"), Path::new("/q/.fbuild/build")],
                &mut NameSets::default(),
            )
        };
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, key_of(&["-c", "/lib/x.c", "-DX"], "/lib/x.c"));
    }

    #[test]
    fn the_projects_folders_and_relative_files_are_the_projects_own() {
        for list in [
            &["-I", "include", "-c", "/lib/x.c"][..],
            &["-Iinclude", "-c", "/lib/x.c"],
            &["-include", "cfg.h", "-c", "/lib/x.c"],
            &["@flags.txt", "-c", "/lib/x.c"],
            &["-DOUT=/p/.fbuild/build/uno/x", "-c", "/lib/x.c"],
            &[
                "-include",
                "/p/.fbuild/build/uno/sketch/x.h",
                "-c",
                "/lib/x.c",
            ],
        ] {
            assert_eq!(key_of(list, "/lib/x.c"), None, "{list:?}");
        }
        assert_eq!(key_of(&["-c", "/p/lib/a/x.c"], "/p/lib/a/x.c"), None);
        assert_eq!(
            key_of(&["-isystem/p/include", "/lib/x.c"], "/lib/x.c"),
            None
        );
        assert_eq!(
            key_of(&["-idirafter", "/p/include", "/lib/x.c"], "/lib/x.c"),
            None
        );
        assert_eq!(key_of(&["--coverage", "/lib/x.c"], "/lib/x.c"), None);
        assert_eq!(
            key_of(&["-include", "/p/include/cfg.h", "/lib/x.c"], "/lib/x.c"),
            None
        );
        assert!(key_of(&["-isystem", "/usr/x", "-Os", "-c", "/lib/x.c"], "/lib/x.c").is_some());
    }

    #[test]
    fn a_projects_search_folder_counts_by_the_names_in_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (p, q) = (tmp.path().join("p"), tmp.path().join("q"));
        for (dir, name) in [(&p, "cfg.h"), (&q, "cfg.h")] {
            std::fs::create_dir_all(dir.join("include")).unwrap();
            std::fs::write(
                dir.join("include").join(name),
                dir.to_string_lossy().as_bytes(),
            )
            .unwrap();
        }
        let key_in = |root: &Path, joined: bool| {
            let inc = root.join("include");
            let list: Vec<OsString> = match joined {
                true => vec![format!("-I{}", inc.display()).into(), "/lib/x.c".into()],
                false => vec!["-I".into(), inc.into(), "/lib/x.c".into()],
            };
            key(
                "core",
                &[(Path::new("/bin/sh"), &list, Path::new("/lib/x.c"))],
                &[],
                &root.join(".fbuild/build/uno"),
                &[],
                &[root, &root.join(".fbuild/build")],
                &mut NameSets::default(),
            )
        };
        // Different files of the same names: one key (what was read from
        // them is checked when the entry is kept).
        assert!(key_in(&p, true).is_some());
        assert_eq!(key_in(&p, true), key_in(&q, true));
        assert_eq!(key_in(&p, false), key_in(&q, false));
        std::fs::write(q.join("include/other.h"), "").unwrap();
        assert_ne!(key_in(&p, true), key_in(&q, true));
    }
}
