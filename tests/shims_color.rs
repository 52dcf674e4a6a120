//! Colours survive a cache hit: a compile whose stderr is a terminal (a
//! pty here) shows GCC's coloured warning on the miss and on the hit
//! (the shim adds `-fdiagnostics-color=always` before the cache, the
//! coordinator having probed that gcc takes it); into a pipe, no colours;
//! a user's own `-fno-diagnostics-color` is kept.

mod common;

use std::path::Path;

use common::pty::stderr_on_a_terminal;
use common::*;

/// The `cc` shim compiling `args` with its stderr on a fresh pty: what
/// the terminal received.
fn on_a_terminal(home: &TestHome, dir: &Path, args: &[&str]) -> String {
    let mut cmd = home.shim("cc", dir);
    cmd.args(args).env("TERM", "xterm-256color");
    let (ok, said) = stderr_on_a_terminal(cmd);
    assert!(ok, "{said}");
    said
}

#[test]
fn a_hit_on_a_terminal_is_coloured_like_the_miss() {
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("w.c"), "int f(void) { int unused; return 1; }\n").unwrap();
    let args = ["-Wall", "-c", "w.c", "-o", "w.o"];
    // zccache installed and its daemon up.
    assert_ok(
        &home
            .fbuild(&["install", "zccache"])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .output()
            .unwrap(),
    );
    let hits = || home.zccache_stats()["cache_hits"].as_u64().unwrap();
    let miss = on_a_terminal(&home, dir, &args);
    assert!(
        miss.contains("unused") && miss.contains("\x1b["),
        "{miss:?}"
    );
    let before = hits();
    let hit = on_a_terminal(&home, dir, &args);
    assert_eq!(hits(), before + 1, "not a hit");
    assert!(
        hit.contains("unused") && hit.contains("\x1b["),
        "no colours on the hit: {hit:?}"
    );

    // Into a pipe: the compiler's own choice, no colours.
    let piped = home.shim("cc", dir).args(args).output().unwrap();
    let said = String::from_utf8_lossy(&piped.stderr);
    assert!(
        said.contains("unused") && !said.contains("\x1b["),
        "{said:?}"
    );
    // The user's own choice is kept.
    let plain = on_a_terminal(
        &home,
        dir,
        &["-fno-diagnostics-color", "-Wall", "-c", "w.c", "-o", "w.o"],
    );
    assert!(
        plain.contains("unused") && !plain.contains("\x1b["),
        "{plain:?}"
    );
}
