//! What a cache tool (zccache, sccache) gets in its environment, one list
//! of rules for every start: the coordinator's daemon commands, a compile
//! through zccache's client (the shim's and the build engine's), and a
//! compile sent over zccache's wire.
//!
//! Hazards behind the rules:
//! * zccache 1.15.8 panics at start (exit 101, "zccache crashed") when any
//!   variable name or value, any PATH entry or the working directory is
//!   not UTF-8 (measured), and a coordinator that passed such a PATH on to
//!   `zccache start` left every later build uncached: such variables and
//!   PATH entries are dropped (a compile whose cwd or arguments are not
//!   UTF-8 skips zccache: see the shim's rewrites);
//! * the coordinator inherits the PATH of the build that started it, often
//!   shims first: tools a cache tool looks up itself (and a compiler's own
//!   `ld`) must be the real ones, never a shim that calls back into fbuild,
//!   so the home's `shims` folder leaves PATH;
//! * a long-lived daemon must not keep a build's jobserver (`MAKEFLAGS`…):
//!   those go for daemon commands only (an LTO link's compiles need them).

use std::ffi::{OsStr, OsString};
use std::path::Path;

use super::Tool;

/// Variables a build may carry that must not reach a long-lived daemon.
const BUILD_ONLY_VARS: &[&str] = &["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS"];

/// `tool` as a command that is, or may start, a cache tool's long-lived
/// daemon (`zccache start`, `sccache --start-server`, `--version`,
/// `--show-stats`): the build's jobserver variables removed, what zccache
/// cannot read removed, and the home's `shims` folder (by any path that
/// leads to it) off PATH.
pub fn daemon(tool: Tool, shims: &Path) -> Tool {
    let mut tool = tool;
    for var in BUILD_ONLY_VARS {
        tool = tool.env_remove(var);
    }
    readable(tool, is_dir(shims))
}

/// `tool` as one compile, link or archive through a cache tool's client:
/// what zccache cannot read removed; the build's own variables (an LTO
/// link's jobserver) and PATH otherwise as the compile would have them
/// without the cache.
pub fn compile(tool: Tool) -> Tool {
    readable(tool, |_| false)
}

fn readable(mut tool: Tool, skip: impl Fn(&Path) -> bool) -> Tool {
    for var in unreadable_vars() {
        tool = tool.env_remove(var);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(clean) = clean_path(&path, skip)
    {
        tool = tool.env("PATH", clean);
    }
    tool
}

/// Whether a PATH entry is the folder `dir`, as written or by another path
/// (a link to it); `dir` is resolved once.
fn is_dir(dir: &Path) -> impl Fn(&Path) -> bool + '_ {
    let resolved = std::fs::canonicalize(dir).ok();
    move |entry| {
        entry == dir
            || resolved
                .as_ref()
                .is_some_and(|r| std::fs::canonicalize(entry).is_ok_and(|e| e == *r))
    }
}

/// Whether zccache can read this variable.
fn is_readable(name: &OsStr, value: &OsStr) -> bool {
    name.to_str().is_some() && value.to_str().is_some()
}

/// This process's environment as zccache's daemon can read it (for a
/// compile sent over its wire), by the rules of [`compile`]: variables
/// that are not UTF-8 left out, PATH without its non-UTF-8 entries.
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
fn unreadable_vars() -> Vec<OsString> {
    std::env::vars_os()
        .filter(|(k, v)| !is_readable(k, v))
        .map(|(k, _)| k)
        .collect()
}

/// `path` without the entries that are not UTF-8 (and, when `skip` says
/// so, without others), or `None` when it cannot be joined again.
fn clean_path(path: &OsStr, skip: impl Fn(&std::path::Path) -> bool) -> Option<OsString> {
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

    #[test]
    fn the_shims_folder_is_known_by_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let shims = dir.path().join("home/shims");
        std::fs::create_dir_all(&shims).unwrap();
        std::os::unix::fs::symlink(dir.path().join("home"), dir.path().join("alias")).unwrap();
        std::os::unix::fs::symlink(&shims, dir.path().join("bin")).unwrap();
        let is_shims = is_dir(&shims);
        assert!(is_shims(&shims));
        assert!(is_shims(&dir.path().join("alias/shims")));
        assert!(is_shims(&dir.path().join("bin")), "a link of another name");
        assert!(!is_shims(dir.path()));
        assert!(!is_shims(Path::new("/usr/bin")));
    }

    #[test]
    fn daemons_lose_the_build_variables_and_compiles_keep_them() {
        let shims = Path::new("/nowhere/shims");
        assert_eq!(
            daemon(Tool::new("zccache"), shims).env_of("MAKEFLAGS"),
            Some(None)
        );
        assert_eq!(compile(Tool::new("zccache")).env_of("MAKEFLAGS"), None);
    }
}
