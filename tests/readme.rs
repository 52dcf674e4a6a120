//! The README's commands work as written: the demo runs end to end.

mod common;

#[test]
fn demo_script_runs() {
    let home = tempfile::tempdir().unwrap();
    // The demo honours FBUILD_ZCCACHE_URL and the like: none of the test's.
    let out = common::clean_command(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo"))
        .env("FBUILD_HOME", home.path().join("home"))
        .output()
        .expect("run scripts/demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("not running"), "{stdout}");
    assert!(stdout.contains("coordinator running"), "{stdout}");
    assert!(stdout.contains("stopped coordinator"), "{stdout}");
    assert!(stdout.contains("zccache:   managed"), "{stdout}");
    // The second build of the Makefile project is served from the cache.
    let second = stdout
        .lines()
        .find(|l| l.starts_with("second build:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(second.contains("13 hits"), "{second}");
    // serial-hello was built for the Uno and greeted from simavr.
    assert!(
        stdout.contains("(0 compiled, 26 up to date)"),
        "no-op build: {stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "hello from uno"),
        "{stdout}"
    );
    assert!(
        home.path()
            .join("home/tools/zccache-1.15.8/zccache")
            .is_file(),
        "{stdout}"
    );
    // All 8 concurrent clients reported one pid.
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("8 ")),
        "{stdout}"
    );
}
