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

/// Every symbolic link under `root` leads inside it, checked on the
/// unpacked tree where links through links are real. Entry by entry, a
/// lexical check passes `a/b/c/l -> ../../..` and then
/// `a/b/c/l/x/y/Leak.h -> ../../../../etc/hostname`, which leads out once
/// followed (seen); a git checkout's links were not checked at all. A
/// link that loops is refused too; a dangling one must point inside.
pub fn links_inside(root: &Path) -> Result<(), String> {
    let real_root =
        std::fs::canonicalize(root).map_err(|e| format!("reading {}: {e}", root.display()))?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let leads =
                    where_it_leads(&path).map_err(|why| format!("refusing {rel}: {why}"))?;
                if !leads.starts_with(&real_root) {
                    return Err(format!(
                        "refusing {rel}: it is a link to {}, outside the package",
                        leads.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Where the link `path` leads: its target resolved, or for a dangling
/// link, the longest part of it that exists resolved and the rest added.
fn where_it_leads(path: &Path) -> Result<PathBuf, String> {
    match std::fs::canonicalize(path) {
        Ok(real) => return Ok(real),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err("its links loop".into());
        }
        Err(_) => {}
    }
    let target = std::fs::read_link(path).map_err(|e| e.to_string())?;
    let mut existing = path.parent().unwrap_or(Path::new("/")).join(target);
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        let Some(name) = existing.file_name().map(|n| n.to_os_string()) else {
            break;
        };
        rest.push(name);
        existing.pop();
    }
    let mut real = std::fs::canonicalize(&existing).map_err(|e| e.to_string())?;
    for part in rest.iter().rev() {
        if part == ".." {
            real.pop();
        } else if part != "." {
            real.push(part);
        }
    }
    Ok(real)
}

/// Bytes and entries under `root` (links not followed).
pub fn tree_size(root: &Path) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            files += 1;
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                _ => bytes += entry.metadata().map(|m| m.len()).unwrap_or(0),
            }
        }
    }
    (bytes, files)
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
