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

/// Every symbolic link under `root` leads inside it, followed step by
/// step from the package's own root and never above it. Entry by entry, a
/// lexical check passes `a/b/c/l -> ../../..` and then
/// `a/b/c/l/x/y/Leak.h -> ../../../../etc/hostname`, which leads out once
/// followed (seen); a git checkout's links were not checked at all; and a
/// link that climbs above the package and comes back by the package's
/// folder name lands in another package once the package is renamed into
/// the store (seen). A link that loops is refused too.
pub fn links_inside(root: &Path) -> Result<(), String> {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = root.join(&rel_dir);
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let rel = rel_dir.join(entry.file_name());
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(rel);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(|e| e.to_string())?;
                follow(root, rel_dir.clone(), &target, &mut 0)
                    .map_err(|why| format!("refusing {}: {why}", rel.display()))?;
            }
        }
    }
    Ok(())
}

/// Where `target`, a link's target read in the folder `at` (relative to
/// `root`), leads: followed component by component within `root`, links
/// on the way followed the same way; `Err` when it would go above `root`
/// or is absolute, or when more than 40 links are followed in all (the
/// OS's ELOOP bound: links that loop, or that double at each level and
/// would take 2^40 steps).
fn follow(
    root: &Path,
    mut at: PathBuf,
    target: &Path,
    links: &mut usize,
) -> Result<PathBuf, String> {
    *links += 1;
    if *links > 40 {
        return Err("its links loop or nest too deeply (more than 40)".into());
    }
    for c in target.components() {
        match c {
            Component::Normal(name) => {
                at.push(name);
                let here = root.join(&at);
                if std::fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) {
                    let next = std::fs::read_link(&here).map_err(|e| e.to_string())?;
                    at.pop();
                    at = follow(root, at, &next, links)?;
                }
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if !at.pop() {
                    return Err(format!(
                        "its link to {} leads outside the package",
                        target.display()
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "its link to {} leads outside the package",
                    target.display()
                ));
            }
        }
    }
    Ok(at)
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

    #[cfg(unix)]
    #[test]
    fn links_are_followed_within_the_package_only() {
        use std::os::unix::fs::symlink;
        let case = |links: &[(&str, &str)]| {
            let dir = tempfile::tempdir().unwrap();
            let pkg = dir.path().join("Lib");
            std::fs::create_dir_all(pkg.join("a/b")).unwrap();
            std::fs::write(pkg.join("a/f.h"), "").unwrap();
            for (at, to) in links {
                symlink(to, pkg.join(at)).unwrap();
            }
            links_inside(&pkg)
        };
        assert!(case(&[("a/b/l", "../f.h"), ("up", "a/b/l")]).is_ok());
        assert!(case(&[("dangling", "a/none.h")]).is_ok());
        // Above the package and back in by its own name: once renamed
        // into the store, that name is another package.
        let back = case(&[("a/l", "../../Lib/a/f.h")]).unwrap_err();
        assert!(back.contains("outside the package"), "{back}");
        // Through a link that climbs, in two steps.
        let two = case(&[("a/b/up", "../.."), ("a/x", "b/up/../etc")]).unwrap_err();
        assert!(two.contains("refusing a/x"), "{two}");
        assert!(case(&[("abs", "/etc/hostname")]).is_err());
        let lp = case(&[("a/p", "q"), ("a/q", "p")]).unwrap_err();
        assert!(lp.contains("loop"), "{lp}");
        // Each link twice the one before: 2^39 steps if counted by depth.
        let doubling: Vec<(String, String)> = (0..40)
            .map(|n| match n {
                0 => ("l0".to_string(), ".".to_string()),
                n => (format!("l{n}"), format!("l{}/l{}", n - 1, n - 1)),
            })
            .collect();
        let refs: Vec<(&str, &str)> = doubling
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert!(case(&refs).unwrap_err().contains("more than 40"));
    }
}
