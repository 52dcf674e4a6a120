//! What zccache can live with in its environment. zccache 1.15.8 panics at
//! start (exit 101, "zccache crashed") when any variable name or value,
//! any PATH entry or the working directory is not UTF-8 (measured), and a
//! coordinator that passed such a PATH on to `zccache start` left every
//! later build uncached. So every zccache process fbuild starts (the
//! coordinator's daemon commands, the shim's wrapper calls) drops such
//! variables and PATH entries; a compile whose cwd or arguments are not
//! UTF-8 skips zccache (see the shim's rewrites).

use std::ffi::{OsStr, OsString};

/// Whether zccache can read this variable.
pub fn is_readable(name: &OsStr, value: &OsStr) -> bool {
    name.to_str().is_some() && value.to_str().is_some()
}

/// This process's environment as zccache's daemon can read it (for a
/// compile sent over its wire): variables that are not UTF-8 left out,
/// PATH without its non-UTF-8 entries.
pub fn readable_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let v = if k == "PATH" {
                clean_path(&v, |_| false)?
            } else {
                v
            };
            Some((k.into_string().ok()?, v.into_string().ok()?))
        })
        .collect()
}

/// Names of the current environment's variables zccache cannot read.
pub fn unreadable_vars() -> Vec<OsString> {
    std::env::vars_os()
        .filter(|(k, v)| !is_readable(k, v))
        .map(|(k, _)| k)
        .collect()
}

/// `path` without the entries that are not UTF-8 (and, when `skip` says
/// so, without others), or `None` when it cannot be joined again.
pub fn clean_path(path: &OsStr, skip: impl Fn(&std::path::Path) -> bool) -> Option<OsString> {
    let kept: Vec<_> = std::env::split_paths(path)
        .filter(|d| d.to_str().is_some() && !skip(d))
        .collect();
    std::env::join_paths(kept).ok()
}

/// Why zccache (not the compiler) failed, if it did: its own error
/// markers on stderr (`zccache[err]…`, `[zccache] zccache crashed`), or a
/// panic's exit code 101 (no compiler exits 101). A compile error is not
/// one: the caller shows it as it is.
pub fn machinery_failure(code: i32, stderr: &[u8]) -> Option<String> {
    if code == 0 {
        return None;
    }
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.contains("zccache[err]") || l.contains("zccache crashed"));
    match line {
        Some(line) => Some(shorten(line.trim())),
        None if code == 101 => Some("zccache panicked (exit 101)".into()),
        None => None,
    }
}

fn shorten(line: &str) -> String {
    const MAX: usize = 160;
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn zccache_failures_are_told_from_compile_errors() {
        let closed = b"x.c: ok\nzccache[err][R]: daemon response failure (closed-connection)\n";
        assert!(
            machinery_failure(1, closed)
                .unwrap()
                .contains("closed-connection")
        );
        assert!(machinery_failure(101, b"thread main panicked").is_some());
        assert!(machinery_failure(125, b"[zccache] zccache crashed - dump").is_some());
        assert_eq!(machinery_failure(1, b"x.c:1: error: expected ';'\n"), None);
        assert_eq!(machinery_failure(0, b"zccache[err] but exit 0"), None);
    }

    #[test]
    fn non_utf8_entries_are_dropped() {
        let path = OsStr::from_bytes(b"/usr/bin:/tmp/a\xffb:/bin");
        assert_eq!(clean_path(path, |_| false).unwrap(), "/usr/bin:/bin");
        assert_eq!(
            clean_path(path, |d| d.ends_with("bin") && d.starts_with("/usr")).unwrap(),
            "/bin"
        );
        assert!(!is_readable(OsStr::new("X"), OsStr::from_bytes(b"\xff")));
    }
}
