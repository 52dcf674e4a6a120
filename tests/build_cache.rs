//! `fbuild build` and its cache from nothing (issue 15): a first build on
//! a home with no coordinator and an empty cache compiles uncached without
//! starting zccache's daemon (it starts after the build) and prints its
//! phases with `-v`; later builds are served by the daemon
//! over its wire with the same bytes as an uncached build; toolchain
//! health answers outlive the coordinator.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The firmware as flashed. (Objects and the ELF differ between any two
/// compiles: the core builds with -flto, whose section names carry a
/// per-compile random seed.)
const OBJECTS: &[&str] = &["firmware.hex", "firmware.eep"];

fn outputs(dir: &Path) -> Vec<Vec<u8>> {
    OBJECTS
        .iter()
        .map(|f| std::fs::read(dir.join(".fbuild/build/uno").join(f)).unwrap())
        .collect()
}

/// `fbuild build DIR -e uno --clean` with `FBUILD_ZCCACHE=off` and
/// `FBUILD_CACHE=none` (no zccache, no library or link store).
fn uncached_clean_build(home: &TestHome, dir: &Path, env: &[(&str, &str)]) -> Output {
    home.fbuild(&["build", dir.to_str().unwrap(), "-e", "uno", "--clean"])
        .env("FBUILD_ZCCACHE", "off")
        .env("FBUILD_CACHE", "none")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn health_probes(home: &TestHome) -> usize {
    std::fs::read_to_string(home.path().join("coordinator/coordinator.log"))
        .unwrap_or_default()
        .matches("probe: toolchain health")
        .count()
}

#[test]
fn from_nothing_to_cached_with_the_same_bytes() {
    let home = TestHome::new();
    assert_ok(&home.install_zccache(&mirror_url()));
    home.run(&["daemon", "stop"]);
    let dir = example("serial-hello");

    // No coordinator, no daemon, an empty cache: the build does not wait.
    let first = home.build(dir.path(), &["-e", "uno", "-v"]);
    assert_ok(&first);
    let err = stderr(&first);
    let phases = err
        .lines()
        .find(|l| l.starts_with("fbuild: [env:uno]") && l.contains(" ms: target "))
        .unwrap_or_else(|| panic!("no phase line:\n{err}"));
    for phase in ["target", "sources", "compile", "link"] {
        assert!(phases.contains(&format!("{phase} ")), "{phases}");
    }
    // An empty cache cannot help: the daemon is not started for this build
    // (it would only slow it), but after it, for the next one.
    assert!(err.contains("zccache's cache is empty"), "{err}");
    assert!(
        wait_for(std::time::Duration::from_secs(30), || !zccache_daemon_pids(
            home.path()
        )
        .is_empty()),
        "zccache's daemon was not started after the build"
    );
    let first_outputs = outputs(dir.path());
    assert_ok(&uncached_clean_build(&home, dir.path(), &[]));
    let uncached = outputs(dir.path());
    assert!(
        first_outputs == uncached,
        "the first build differs from an uncached one"
    );

    // Filled by a build through the daemon, then served from it (the
    // library store emptied first: it would serve the core without asking
    // zccache, see tests/library_store.rs).
    let no_store = || std::fs::remove_dir_all(home.path().join("builds/libs")).unwrap();
    no_store();
    assert_ok(&home.build(dir.path(), &["-e", "uno", "--clean"]));
    no_store();
    let hits = || home.zccache_stats()["cache_hits"].as_u64().unwrap();
    let before = hits();
    let warm = home.build(dir.path(), &["-e", "uno", "--clean", "-v"]);
    assert_ok(&warm);
    // The core archive, the link and both objcopies from fbuild's store:
    // the clean build ran no tool.
    assert!(
        stderr(&warm).contains("links: 4 hits, 0 misses (fbuild's link store)"),
        "{}",
        stderr(&warm)
    );
    let compiled = said(&warm)
        .split(" compiled")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{}", stderr(&warm)));
    assert!(compiled >= 20, "{}", said(&warm));
    assert_eq!(hits() - before, compiled, "every compile a hit");
    assert!(outputs(dir.path()) == uncached, "the cached build differs");
    let status = home.status_json();
    assert_eq!(status["zccache"]["wire"], 26, "{status}");
}

#[test]
fn toolchain_health_is_checked_once_across_coordinator_restarts() {
    let home = TestHome::new();
    let dir = example("blink");
    let build = || uncached_clean_build(&home, dir.path(), &[("FBUILD_LOG", "info")]);
    assert_ok(&build());
    // One check, for the board's MCU (the request without it only locates).
    assert_eq!(health_probes(&home), 1);
    home.run(&["daemon", "stop"]);
    assert_ok(&build());
    assert_eq!(health_probes(&home), 1, "checked again after a restart");
    let record = std::fs::read_to_string(home.path().join("coordinator/health.json")).unwrap();
    assert!(record.contains("-mmcu=atmega328p"), "{record}");
}

#[test]
fn a_coordinator_stopped_right_after_a_deferred_build_leaves_no_daemon() {
    let home = TestHome::new();
    assert_ok(&home.install_zccache(&mirror_url()));
    home.run(&["daemon", "stop"]);
    let dir = example("blink");
    // The build compiles uncached and leaves the coordinator starting
    // zccache's daemon; stopping the coordinator at once must not orphan
    // that daemon (it would run on, over a home that may be deleted).
    let first = home
        .fbuild(&["build", dir.path().to_str().unwrap(), "-e", "uno", "-v"])
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .env("FBUILD_LOG", "info")
        .output()
        .unwrap();
    assert_ok(&first);
    assert!(
        stderr(&first).contains("zccache's cache is empty"),
        "{}",
        stderr(&first)
    );
    // Stopped while the daemon starts: the coordinator's first check of it
    // (`zccache status`, before `zccache start`) is in its log.
    let log = home.path().join("coordinator/coordinator.log");
    wait_until("the coordinator to start zccache's daemon", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("probe: zccache status"))
    });
    assert_ok(&home.run(&["daemon", "stop"]));
    // Gone with its coordinator (a daemon left behind would idle for an
    // hour): a killed one may take a moment to leave the process table.
    wait_until("no zccache daemon after the coordinator stopped", || {
        zccache_daemon_pids(home.path()).is_empty()
    });
}
