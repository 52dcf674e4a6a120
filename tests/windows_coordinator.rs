//! The coordinator on Windows, under wine: 32 clients started at once
//! yield exactly one coordinator (the spawn lock and the singleton lock
//! are fslock's Windows file locks; the endpoint is a named pipe); a
//! coordinator ended by `taskkill /F` leaves nothing that blocks the next
//! client, which starts a new one. Skipped unless FBUILD_WINE_BIN and
//! FBUILD_WINE_DEPS are set (scripts/test-windows sets them).

mod common;

use common::wine::Wine;
use common::*;

const CLIENTS: usize = 32;

/// `fbuild.exe daemon start` for `home`; the coordinator's Windows pid it
/// prints.
fn daemon_start(wine: &Wine, home: &str, log: &std::path::Path) -> u32 {
    let out = wine.output(
        wine.command(wine.exe("fbuild.exe"))
            .args(["daemon", "start"])
            .env("FBUILD_HOME", home),
    );
    if !out.status.success() {
        eprintln!(
            "coordinator.log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("daemon start printed {text:?}"))
}

#[test]
fn thirty_two_clients_one_coordinator_and_a_killed_one_is_replaced() {
    let Some(wine) = Wine::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = wine.win_path(&dir.path().join("home"));
    let log = dir.path().join("home/coordinator/coordinator.log");

    let pids: Vec<u32> = std::thread::scope(|s| {
        let started: Vec<_> = (0..CLIENTS)
            .map(|_| s.spawn(|| daemon_start(&wine, &home, &log)))
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let first = pids[0];
    assert!(
        pids.iter().all(|p| *p == first),
        "{CLIENTS} clients were answered by several coordinators: {pids:?}"
    );
    assert_eq!(
        wine.windows_pids_of("fbuild-coordinator.exe"),
        vec![first],
        "coordinator processes in the prefix"
    );
    eprintln!("{CLIENTS} clients -> 1 coordinator (pid {first})");

    let killed = wine.taskkill(first);
    assert_ok(&killed);
    // Gone from Linux and from the wineserver's own table (where its
    // handles, the lock and the pipe, are closed).
    wait_until("the killed coordinator to be gone", || {
        wine.pids_of("fbuild-coordinator.exe").is_empty()
            && wine.windows_pids_of("fbuild-coordinator.exe").is_empty()
    });
    // Its lock file and info file are still in the home; its pipe is gone.
    assert!(
        dir.path()
            .join("home/coordinator/coordinator.lock")
            .exists()
    );

    let second = daemon_start(&wine, &home, &log);
    assert_ne!(second, first, "a dead coordinator's pid was reported");
    assert_eq!(wine.windows_pids_of("fbuild-coordinator.exe"), vec![second]);
    let out = wine.output(
        wine.command(wine.exe("fbuild.exe"))
            .args(["daemon", "status"])
            .env("FBUILD_HOME", &home),
    );
    assert_ok(&out);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains(&format!("pid:       {second}")), "{status}");
    assert!(status.contains(r"\\.\pipe\fbuild-"), "{status}");
    wine.shutdown();
}
