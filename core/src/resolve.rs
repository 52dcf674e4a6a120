//! Finding the real tool behind a shim on the caller's PATH.
//!
//! Hazard: the shims are usually on PATH ahead of the real compilers (that
//! is how `CC=cc` reaches them), so a naive PATH lookup for `cc` finds the
//! shim again and a build forks itself until the machine falls over. Like
//! ccache, we skip every directory that is known to hold shims, and every
//! candidate that *is* the shim binary, compared by canonical path and by
//! device and inode (a hard link or a symlink chain in another directory is
//! still the shim). The environment marker in the shim catches any loop
//! this cannot see (another wrapper calling back into the shims).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Identity of a file: canonical path and, on Unix, (device, inode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileId {
    canonical: PathBuf,
    inode: Option<(u64, u64)>,
}

impl FileId {
    pub fn of(path: &Path) -> Option<Self> {
        let canonical = std::fs::canonicalize(path).ok()?;
        Some(FileId {
            inode: inode(&canonical),
            canonical,
        })
    }

    fn same(&self, other: &FileId) -> bool {
        self.canonical == other.canonical || (self.inode.is_some() && self.inode == other.inode)
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// The first executable `name` on `path` (relative entries are taken
/// against `cwd`) that is not in `skip_dirs` and is not `shim` itself.
pub fn find_real_tool(
    name: &str,
    path: &OsStr,
    cwd: &Path,
    skip_dirs: &[PathBuf],
    shim: Option<&FileId>,
) -> Option<PathBuf> {
    let skip: Vec<PathBuf> = skip_dirs
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect();
    for dir in std::env::split_paths(path) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else if dir.is_relative() {
            cwd.join(dir)
        } else {
            dir
        };
        if std::fs::canonicalize(&dir).is_ok_and(|d| skip.contains(&d)) {
            continue;
        }
        let candidate = dir.join(name);
        if !is_executable(&candidate) {
            continue;
        }
        let id = FileId::of(&candidate);
        if let (Some(id), Some(shim)) = (&id, shim)
            && id.same(shim)
        {
            continue;
        }
        return Some(candidate);
    }
    None
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn exe(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn skips_shim_dirs_and_the_shim_itself() {
        let t = tempfile::tempdir().unwrap();
        let (shims, other, real) = (
            t.path().join("shims"),
            t.path().join("other"),
            t.path().join("real"),
        );
        for d in [&shims, &other, &real] {
            std::fs::create_dir(d).unwrap();
        }
        let shim_bin = t.path().join("fbuild-shim");
        exe(&shim_bin);
        symlink(&shim_bin, shims.join("cc")).unwrap();
        std::fs::hard_link(&shim_bin, other.join("cc")).unwrap();
        exe(&real.join("cc"));
        let path = std::env::join_paths([&shims, &other, &real]).unwrap();
        let id = FileId::of(&shim_bin).unwrap();
        let found = find_real_tool(
            "cc",
            &path,
            t.path(),
            std::slice::from_ref(&shims),
            Some(&id),
        );
        assert_eq!(found, Some(real.join("cc")));
        let only_shims = std::env::join_paths([&shims, &other]).unwrap();
        assert_eq!(
            find_real_tool("cc", &only_shims, t.path(), &[], Some(&id)),
            None
        );
    }
}
