//! Safe extraction of a `.tar.gz` or `.tar.bz2` into a staging directory.
//!
//! Hazard: an archive is input from the network. Every entry is checked
//! before anything is written: no absolute paths, no `..`, no symlink or
//! hard link whose target leaves the staging dir (checked lexically against
//! the entry's own location, so a chain of links cannot escape either), and
//! only regular files, directories and links: device files, fifos and the
//! like are refused. A refused archive fails the install; nothing of it is
//! kept.

use super::error::InstallError;
use std::fs::File;
use std::io::BufReader;
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};

/// Compression of a tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Bzip2,
}

impl Compression {
    /// From the archive's URL or file name (`.tar.bz2`/`.tbz2`, else gzip).
    pub fn of(name: &str) -> Compression {
        if name.ends_with(".tar.bz2") || name.ends_with(".tbz2") {
            Compression::Bzip2
        } else {
            Compression::Gzip
        }
    }
}

/// Extracts `archive` (tar.gz or tar.bz2) into `dest`, which must exist.
pub fn extract_tarball(
    archive: &Path,
    dest: &Path,
    compression: Compression,
) -> Result<u64, InstallError> {
    unpack(archive, dest, compression).map_err(InstallError::Unpack)
}

fn unpack(archive: &Path, dest: &Path, compression: Compression) -> Result<u64, String> {
    let file = File::open(archive).map_err(|e| format!("opening {}: {e}", archive.display()))?;
    let reader: Box<dyn std::io::Read> = match compression {
        Compression::Gzip => Box::new(GzDecoder::new(BufReader::new(file))),
        Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(BufReader::new(file))),
    };
    let mut tar = Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.set_overwrite(false);
    let mut count = 0;
    let entries = tar
        .entries()
        .map_err(|e| format!("reading {}: {e}", archive.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("reading {}: {e}", archive.display()))?;
        let path = entry
            .path()
            .map_err(|e| format!("bad entry name in {}: {e}", archive.display()))?
            .into_owned();
        let rel = safe_relative(&path)?;
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Regular | EntryType::Directory | EntryType::Continuous => {}
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| format!("bad link in {}: {e}", path.display()))?
                    .ok_or_else(|| format!("link {} has no target", path.display()))?;
                check_link(&rel, &target, kind == EntryType::Link)?;
            }
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName => continue,
            other => {
                return Err(format!(
                    "refusing archive entry {}: type {other:?} (only files, directories and links are allowed)",
                    path.display()
                ));
            }
        }
        // unpack_in re-checks the path, creates parents, refuses to write
        // through a symlink that leaves `dest`, and resolves hard links
        // against `dest`.
        let unpacked = entry
            .unpack_in(dest)
            .map_err(|e| format!("extracting {}: {}", path.display(), with_causes(&e)))?;
        if !unpacked {
            return Err(format!("refusing archive entry {}", path.display()));
        }
        count += 1;
    }
    Ok(count)
}

/// `path` as a plain relative path, or why it is refused.
fn safe_relative(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "refusing archive entry {}: it contains '..'",
                    path.display()
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "refusing archive entry {}: absolute path",
                    path.display()
                ));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("refusing archive entry {:?}: empty path", path));
    }
    Ok(out)
}

/// A link at `rel` pointing to `target` must stay inside the root. Hard link
/// targets are relative to the archive root, symlink targets to the link's
/// directory.
fn check_link(rel: &Path, target: &Path, hard: bool) -> Result<(), String> {
    let refuse = || {
        Err(format!(
            "refusing archive entry {}: link to {} leaves the package",
            rel.display(),
            target.display()
        ))
    };
    if target.is_absolute() {
        return refuse();
    }
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    if !hard {
        for c in rel.parent().into_iter().flat_map(Path::components) {
            if let Component::Normal(p) = c {
                depth.push(p);
            }
        }
    }
    for c in target.components() {
        match c {
            Component::Normal(p) => depth.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return refuse();
                }
            }
            Component::RootDir | Component::Prefix(_) => return refuse(),
        }
    }
    Ok(())
}

/// What really failed: tar's "failed to unpack …" wraps the io error that
/// says why ("No space left on device"), and its own text said only the
/// former (seen on a full disk).
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut root = e;
    while let Some(cause) = root.source() {
        root = cause;
    }
    let why = root.to_string();
    if root
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.raw_os_error() == Some(libc::ENOSPC))
    {
        return format!("{why}: free space where FBUILD_HOME is, or point it at a roomier disk");
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_links() {
        assert!(safe_relative(Path::new("a/b")).is_ok());
        assert!(safe_relative(Path::new("./a")).is_ok());
        assert!(safe_relative(Path::new("../x")).is_err());
        assert!(safe_relative(Path::new("a/../../x")).is_err());
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
        assert!(check_link(Path::new("a/l"), Path::new("../b"), false).is_ok());
        assert!(check_link(Path::new("a/l"), Path::new("../../b"), false).is_err());
        assert!(check_link(Path::new("l"), Path::new("/etc"), false).is_err());
        assert!(check_link(Path::new("a/l"), Path::new("../b"), true).is_err());
        assert!(check_link(Path::new("a/l"), Path::new("a/b"), true).is_ok());
    }
}
