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

/// Identity of a file: canonical path and (device, inode), or on Windows
/// (volume, file index).
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

/// Windows: the volume serial number and file index (one file, however
/// many hard links name it).
#[cfg(windows)]
fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
    };
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: an open file's handle and a zeroed out struct to fill.
    unsafe {
        let mut info: BY_HANDLE_FILE_INFORMATION = std::mem::zeroed();
        if GetFileInformationByHandle(file.as_raw_handle(), &mut info) == 0 {
            return None;
        }
        let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
        Some((u64::from(info.dwVolumeSerialNumber), index))
    }
}

#[cfg(not(any(unix, windows)))]
fn inode(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// The names a program `name` may have in a directory: itself, and on
/// Windows, when it has no extension, with each of `PATHEXT`'s (`.EXE`,
/// `.CMD`, …) as `CreateProcess` and cmd look it up.
fn file_names(name: &str) -> Vec<String> {
    if !cfg!(windows) || Path::new(name).extension().is_some() {
        return vec![name.to_string()];
    }
    let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
    exts.split(';')
        .filter(|e| e.starts_with('.'))
        .map(|e| format!("{name}{}", e.to_ascii_lowercase()))
        .collect()
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
        for file in file_names(name) {
            let candidate = dir.join(file);
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
