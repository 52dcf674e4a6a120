//! What an archive entry may be, for every archive format the gate
//! unpacks: a plain relative path (no `..`, not absolute), links that stay
//! inside the package, and error texts that say what really failed.

use std::path::{Component, Path, PathBuf};

/// `path` as a plain relative path, or why it is refused.
pub fn safe_relative(path: &Path) -> Result<PathBuf, String> {
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
pub fn check_link(rel: &Path, target: &Path, hard: bool) -> Result<(), String> {
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
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
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
