//! Which files of a folder are sources: languages by extension, the
//! recursive listing (skipping libraries' examples and tests), and
//! PlatformIO's `+<…>`/`-<…>` source filters.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::observed;
use crate::report::{self, Kind};
use anyhow::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    C,
    Cxx,
    Asm,
}

pub(crate) fn lang_of(p: &Path) -> Option<Lang> {
    match p.extension()?.to_str()? {
        "c" => Some(Lang::C),
        "cpp" | "cc" | "cxx" => Some(Lang::Cxx),
        "S" => Some(Lang::Asm),
        _ => None,
    }
}

/// How a walk treats symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links<'a> {
    /// Followed wherever they lead: the user's own folders (the project, a
    /// library of `lib/` or a local path: a link to shared sources is the
    /// user's choice).
    Follow,
    /// Followed only while they stay inside `root`: a package's folder (a
    /// library of the store, a core: nothing it names leaves it). A link
    /// out is skipped, with a warning where `warn` (one walk of a build
    /// says it).
    Within { root: &'a Path, warn: bool },
}

/// Files under `dir`, sorted, skipping examples and tests of libraries and
/// build folders. Each real folder is walked once, so links that loop
/// (`src/a -> ..`) end (seen: a library with two such links ran out of
/// memory, and one compiled the same file ~40 times).
pub(crate) fn files_under(dir: &Path, links: Links) -> Result<Vec<PathBuf>> {
    let bound = match links {
        Links::Within { root, .. } => root,
        Links::Follow => dir,
    };
    let root =
        std::fs::canonicalize(bound).with_context(|| format!("reading {}", bound.display()))?;
    let mut out = Vec::new();
    if bound != dir && !link_allowed(dir, &root, links) {
        return Ok(out);
    }
    let mut walked = HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !std::fs::canonicalize(&d).is_ok_and(|real| walked.insert(real)) {
            continue;
        }
        let entries = observed::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_symlink()) && !link_allowed(&p, &root, links) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            // The entry's own type (no look at a file the listing names:
            // a source edited keeps the list); a link's target is looked at.
            let is_dir = match e.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir(),
                _ => observed::is_dir(&p),
            };
            if is_dir {
                if !SKIPPED.contains(&name.as_str()) {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Folders a source walk never enters.
pub(crate) const SKIPPED: [&str; 7] = [
    "examples", "extras", "test", "tests", ".git", ".fbuild", ".pio",
];

/// Whether the link `path` may be followed: it leads somewhere (a
/// dangling link is nothing to compile), and for a confined walk, inside
/// `root` (canonical).
fn link_allowed(path: &Path, root: &Path, links: Links) -> bool {
    observed::record(path);
    let Ok(target) = std::fs::canonicalize(path) else {
        return false;
    };
    let Links::Within { warn, .. } = links else {
        return true;
    };
    if target.starts_with(root) {
        return true;
    }
    if warn {
        report::say(
            Kind::Warning,
            format!(
                "fbuild: warning: {} leads out of its package {} (to {}); skipped: a package builds \
             from its own files",
                path.display(),
                root.display(),
                target.display()
            ),
        );
    }
    false
}

/// Files under `src_dir` selected by `+<…>` / `-<…>` filters (default
/// `+<*>`), applied in order; patterns are relative to `src_dir`, `*`
/// matches anything, a trailing `/` means everything below a folder.
pub(crate) fn filtered(
    src_dir: &Path,
    filter: &[String],
    links: Links<'_>,
) -> Result<Vec<PathBuf>> {
    let all = files_under(src_dir, links)?;
    let default = ["+<*>".to_string()];
    let filter = if filter.is_empty() {
        &default[..]
    } else {
        filter
    };
    Ok(all
        .into_iter()
        .filter(|f| {
            let rel = f
                .strip_prefix(src_dir)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned();
            let mut keep = false;
            for item in filter {
                let (sign, pattern) = item.split_at(1);
                let pattern = pattern.trim_start_matches('<').trim_end_matches('>');
                if matches(pattern, &rel) {
                    keep = sign == "+";
                }
            }
            keep
        })
        .collect())
}

fn matches(pattern: &str, path: &str) -> bool {
    if let Some(dir) = pattern.strip_suffix('/') {
        return glob(dir, path.split('/').next().unwrap_or("")) && path.contains('/')
            || path.starts_with(&format!("{dir}/"));
    }
    glob(pattern, path)
}

/// `*` matches any run of characters (including `/`), `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The folders directly inside `dir`, sorted (none if it is unreadable).
pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let entries = match observed::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                report::say(
                    Kind::Warning,
                    format!(
                        "fbuild: warning: cannot read {}: {e}; libraries there are not used",
                        dir.display()
                    ),
                );
            }
            return Vec::new();
        }
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            if !observed::is_dir(p) {
                return false;
            }
            match observed::read_dir(p) {
                Ok(_) => true,
                Err(e) => {
                    report::say(
                        Kind::Warning,
                        format!(
                            "fbuild: warning: cannot read {}: {e}; it is not used",
                            p.display()
                        ),
                    );
                    false
                }
            }
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn src_filter() {
        assert!(matches("*", "a/b.c"));
        assert!(matches("*.c", "x.c") && !matches("*.c", "x.cpp"));
        assert!(matches("test/", "test/t.c") && !matches("test/", "main.c"));
        let dir = tempfile::tempdir().unwrap();
        for f in ["main.cpp", "skip.cpp", "test/t.cpp"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got = filtered(
            dir.path(),
            &["+<*>".into(), "-<test/>".into(), "-<skip.cpp>".into()],
            Links::Follow,
        )
        .unwrap();
        assert_eq!(got, vec![dir.path().join("main.cpp")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_package_walk_stays_in_its_package() {
        let dir = tempfile::tempdir().unwrap();
        let (pkg, outside) = (dir.path().join("pkg"), dir.path().join("outside"));
        for f in [
            pkg.join("src/ok.c"),
            pkg.join("util/u.c"),
            outside.join("evil.c"),
        ] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "").unwrap();
        }
        std::os::unix::fs::symlink(&outside, pkg.join("src/out")).unwrap();
        std::os::unix::fs::symlink("../util", pkg.join("src/in")).unwrap();
        std::os::unix::fs::symlink(&outside, pkg.join("src2")).unwrap();
        let src = pkg.join("src");
        let within = |dir: &Path| {
            files_under(
                dir,
                Links::Within {
                    root: &pkg,
                    warn: false,
                },
            )
            .unwrap()
        };
        assert_eq!(within(&src), vec![src.join("in/u.c"), src.join("ok.c")]);
        assert_eq!(within(&pkg.join("src2")), Vec::<PathBuf>::new());
        let all = files_under(&src, Links::Follow).unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
    }
}
