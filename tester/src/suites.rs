//! Test suites as PlatformIO lays them out: each folder `test/<suite>/`
//! (names starting `test_` by convention, any name accepted), and the
//! files directly in `test/` as one suite named `*`; selected by
//! `-f`/`test_filter` and `-i`/`test_ignore` globs on the suite's name.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub dir: PathBuf,
}

const SOURCE_EXTS: [&str; 5] = ["c", "cpp", "cc", "cxx", "S"];

/// The suites under `test_dir`, sorted by name.
pub fn find(test_dir: &Path) -> Vec<Suite> {
    let Ok(entries) = std::fs::read_dir(test_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut loose = false;
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !name.starts_with('.') && has_sources(&path) {
            out.push(Suite { name, dir: path });
        } else if is_source(&path) {
            loose = true;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if loose {
        out.insert(
            0,
            Suite {
                name: "*".into(),
                dir: test_dir.to_path_buf(),
            },
        );
    }
    out
}

/// Whether `name` passes the filters (none: all) and no ignore.
pub fn selected(name: &str, filters: &[String], ignores: &[String]) -> bool {
    let hit = |globs: &[String]| globs.iter().any(|g| fbuild_builder::glob(g, name));
    (filters.is_empty() || hit(filters)) && !hit(ignores)
}

fn is_source(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .is_some_and(|e| SOURCE_EXTS.contains(&e.to_string_lossy().as_ref()))
}

fn has_sources(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| is_source(&e.path()) || (e.path().is_dir() && has_sources(&e.path())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "test_a/main.c",
            "test_b/sub/x.cpp",
            "empty/README",
            "loose.c",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let names: Vec<String> = find(dir.path()).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["*", "test_a", "test_b"]);
        assert!(selected("test_a", &[], &[]));
        assert!(selected("test_a", &["test_*".into()], &["test_b".into()]));
        assert!(!selected("test_b", &["test_*".into()], &["test_b".into()]));
        assert!(!selected("other", &["test_*".into()], &[]));
    }
}
