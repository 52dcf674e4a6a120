//! `fbuild build` on a terminal shows the compiler's colours, from the
//! cache too: its compiles carry `-fdiagnostics-color=always` (the
//! coordinator probed that gcc takes it) when its stderr is a terminal, so
//! a hit replays the coloured warning the miss wrote; into a pipe, none.
//! A diagnostic written while the progress bar shows starts its own line.

mod common;

use std::path::Path;

use common::pty::stderr_on_a_terminal;
use common::*;

/// A clean `fbuild build -v` with stderr on a pty: what the terminal got.
fn on_a_terminal(home: &TestHome, dir: &Path) -> String {
    let _ = std::fs::remove_dir_all(dir.join(".fbuild"));
    let mut cmd = home.fbuild(&["build", dir.to_str().unwrap(), "-v"]);
    cmd.env("FBUILD_ZCCACHE_URL", mirror_url())
        .env("TERM", "xterm-256color");
    let (ok, said) = stderr_on_a_terminal(cmd);
    assert!(ok, "{said}");
    said
}

#[test]
fn a_build_on_a_terminal_is_coloured_on_a_miss_and_on_a_hit() {
    let home = TestHome::new();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("platformio.ini"),
        "[env:native]\nplatform = native\nbuild_flags = -Wall\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.c"),
        "int main(void) { int unused; return 0; }\n",
    )
    .unwrap();
    // The first build may find zccache's cache empty (it compiles
    // uncached then); wait for its daemon, then a miss and a hit.
    let first = on_a_terminal(&home, dir);
    assert!(
        first.contains("unused") && first.contains("\x1b["),
        "{first:?}"
    );
    home.zccache_stats();
    let cached = |said: &str, what: &str| {
        assert!(said.contains("unused"), "{what}: {said:?}");
        assert!(said.contains("\x1b[01;35m"), "{what}: no colours: {said:?}");
    };
    let miss = on_a_terminal(&home, dir);
    cached(&miss, "miss");
    let hit = on_a_terminal(&home, dir);
    assert!(
        hit.contains("cache: 1 hits, 0 misses"),
        "not a hit: {hit:?}"
    );
    cached(&hit, "hit");
    // zccache was installed by the first build: no empty install bar.
    assert!(!hit.contains("0 B/0 B"), "an install bar: {hit:?}");

    // Into a pipe: no colours.
    let _ = std::fs::remove_dir_all(dir.join(".fbuild"));
    let piped = home.build(dir, &[]);
    assert_ok(&piped);
    let said = String::from_utf8_lossy(&piped.stderr);
    assert!(
        said.contains("unused") && !said.contains("\x1b["),
        "{said:?}"
    );
}

#[test]
fn a_diagnostic_starts_its_own_line_under_the_progress_bar() {
    let home = TestHome::new();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("platformio.ini"),
        "[env:native]\nplatform = native\nbuild_flags = -Wall\n",
    )
    .unwrap();
    for n in 0..6 {
        std::fs::write(
            dir.join(format!("src/f{n}.c")),
            format!("int f{n}(void) {{ return {n}; }}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("src/main.c"),
        "int main(void) { int unused; return 0; }\n",
    )
    .unwrap();
    // Without -v: the bar is drawn on the terminal while files compile.
    let mut cmd = home.fbuild(&["build", dir.to_str().unwrap(), "-j", "1"]);
    cmd.env("FBUILD_ZCCACHE", "off")
        .env("TERM", "xterm-256color");
    let (ok, said) = stderr_on_a_terminal(cmd);
    assert!(ok, "{said:?}");
    assert!(said.contains("[native]"), "no bar: {said:?}");
    let at = said
        .find("In function")
        .unwrap_or_else(|| panic!("no warning: {said:?}"));
    // Where the terminal's line starts: after a newline, or after the
    // bar's line was erased (`\r` and erase-line).
    let line_start = [
        said[..at].rfind('\n').map(|i| i + 1),
        said[..at].rfind("\r\x1b[2K").map(|i| i + 5),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    let before = &said[line_start..at];
    assert!(
        !before.contains("[native]"),
        "the warning is glued to the bar: {before:?}"
    );
}
