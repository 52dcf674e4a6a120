//! Which files of a folder are sources: languages by extension, the
//! recursive listing (skipping libraries' examples and tests), and
//! PlatformIO's `+<…>`/`-<…>` source filters.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Source files under `dir`, sorted, skipping examples and tests of libraries.
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !["examples", "extras", "test", "tests", ".git"].contains(&name.as_str()) {
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

/// Files under `src_dir` selected by `+<…>` / `-<…>` filters (default
/// `+<*>`), applied in order; patterns are relative to `src_dir`, `*`
/// matches anything, a trailing `/` means everything below a folder.
pub(crate) fn filtered(src_dir: &Path, filter: &[String]) -> Result<Vec<PathBuf>> {
    let all = files_under(src_dir)?;
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
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
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
        )
        .unwrap();
        assert_eq!(got, vec![dir.path().join("main.cpp")]);
    }
}
