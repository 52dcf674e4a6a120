//! The install gate with the real zccache mirror over a loopback HTTP
//! server: one download for many clients in several processes, and a clean
//! state after crashes and failures.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::http::TestServer;
use common::*;
use fbuild_core::install_status::{InstallPhase, InstallStatus};
use fbuild_core::protocol::{Event, Reply, Request};

/// Env var that turns `install_gate_child` into a worker (see below).
const CHILD_MODE: &str = "FBUILD_TEST_CHILD_MODE";

/// The settings a worker is given (nothing else of its environment counts).
const CHILD_VARS: &[&str] = &["FBUILD_HOME", "FBUILD_ZCCACHE_URL", "FBUILD_IDLE_SECS"];

fn phases_in_order(seen: &[InstallPhase]) -> bool {
    seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() == Some(&InstallPhase::Installed)
}

/// Worker body for `one_download_for_32_clients_in_4_processes`: 8 threads
/// in this process install zccache, either through the coordinator
/// (`coordinator`) or with an in-process engine shared by the threads
/// (`local`, like `fbuild install --no-daemon`). Prints one line per
/// thread: `<path> <phase,phase,…>`.
#[test]
#[ignore = "worker process for one_download_for_32_clients_in_4_processes"]
fn install_gate_child() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let lines: Vec<String> = if mode == "coordinator" {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    let client = fbuild_client::Client::new(settings_of(CHILD_VARS));
                    let mut phases = Vec::new();
                    let request = Request::Install {
                        package: "zccache".into(),
                        retry: false,
                    };
                    let served = client
                        .request(&request, &mut |e| {
                            if let Event::Install(s) = e {
                                phases.push(s.phase);
                            }
                        })
                        .unwrap();
                    let Reply::Installed { path, .. } = served.reply else {
                        panic!("{:?}", served.reply)
                    };
                    format!("{path} {}", serde_json::to_string(&phases).unwrap())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    } else {
        local_installs(8)
    };
    for line in lines {
        println!("RESULT {line}");
    }
}

fn local_installs(n: usize) -> Vec<String> {
    use fbuild_coordinator::install::{Installer, follow};
    let settings = settings_of(CHILD_VARS);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let installer = Installer::new();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let spec = fbuild_coordinator::zccache::spec(&settings).unwrap();
                let installer = Arc::clone(&installer);
                tokio::spawn(async move {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<InstallStatus>();
                    let path = follow(installer.ensure(spec, false), &tx).await.unwrap();
                    drop(tx);
                    let mut phases = Vec::new();
                    while let Some(s) = rx.recv().await {
                        phases.push(s.phase);
                    }
                    format!(
                        "{} {}",
                        path.display(),
                        serde_json::to_string(&phases).unwrap()
                    )
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
}

#[test]
fn one_download_for_32_clients_in_4_processes() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    server.set_rate(6_000_000); // ~2 s for the 12 MB archive: the clients overlap
    let children: Vec<_> = ["coordinator", "local", "coordinator", "local"]
        .iter()
        .map(|mode| {
            clean_command(std::env::current_exe().unwrap())
                .args(["--exact", "install_gate_child", "--ignored", "--nocapture"])
                .env(CHILD_MODE, mode)
                .env("FBUILD_HOME", home.path())
                .env("FBUILD_ZCCACHE_URL", server.url())
                .env("FBUILD_IDLE_SECS", "60")
                .env(
                    "PATH",
                    format!("{}:{}", bin_dir(), std::env::var("PATH").unwrap()),
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut results = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        results.extend(
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix("RESULT "))
                .map(str::to_string),
        );
    }
    assert_eq!(results.len(), 32, "{results:#?}");
    assert_eq!(
        server.gets(&format!("/{}", zccache_asset())),
        1,
        "archive GETs"
    );
    let want = home.path().join("tools/zccache-1.15.8");
    let mut waiters = 0;
    for line in &results {
        let (path, phases) = line.split_once(' ').unwrap();
        assert_eq!(std::path::Path::new(path), want);
        let phases: Vec<InstallPhase> = serde_json::from_str(phases).unwrap();
        assert!(phases_in_order(&phases), "phases out of order: {phases:?}");
        if phases.contains(&InstallPhase::Downloading)
            || phases.contains(&InstallPhase::WaitingForLock)
        {
            waiters += 1;
        }
    }
    assert!(
        waiters >= 2,
        "no client waited for the install: {results:#?}"
    );
    assert!(leftovers(home.path()).is_empty());
}

/// Where the `fbuild` binaries are (so worker processes find the coordinator).
fn bin_dir() -> String {
    std::path::Path::new(FBUILD)
        .parent()
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn no_daemon_install_and_coordinator_share_one_download() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    server.set_rate(6_000_000);
    let url = server.url();
    let spawn = |args: &[&str]| {
        home.fbuild(args)
            .env("FBUILD_ZCCACHE_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let local = spawn(&["install", "zccache", "--no-daemon"]);
    let via_daemon = spawn(&["install", "zccache"]);
    for child in [local, via_daemon] {
        let out = child.wait_with_output().unwrap();
        assert_ok(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            home.path()
                .join("tools/zccache-1.15.8")
                .display()
                .to_string()
        );
    }
    assert_eq!(server.gets(&format!("/{}", zccache_asset())), 1);
}

/// Starts `fbuild install zccache --no-daemon`, waits until its progress
/// shows `phase`, kills it with SIGKILL, and returns its stderr so far.
fn kill_installer_at(home: &TestHome, url: &str, phase: &str, pause: Option<&str>) -> String {
    let mut cmd = home.fbuild(&["install", "zccache", "--no-daemon"]);
    cmd.env("FBUILD_ZCCACHE_URL", url).stderr(Stdio::piped());
    if let Some(pause) = pause {
        cmd.env("FBUILD_TEST_INSTALL_PAUSE", pause);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(phase) {
            break;
        }
    }
    assert!(seen.contains(phase), "never reached {phase}: {seen}");
    child.kill().unwrap();
    child.wait().unwrap();
    seen
}

#[test]
fn kill_9_while_downloading_leaves_nothing_stale() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    server.set_rate(1_000_000); // 12 s: plenty of time to kill it mid-way
    kill_installer_at(&home, &server.url(), "downloading", None);
    // Mid-download, its staging dir is there; nothing is installed.
    assert!(!home.path().join("tools/zccache-1.15.8").exists());
    assert_eq!(
        leftovers(home.path()).len(),
        1,
        "{:?}",
        leftovers(home.path())
    );

    server.set_rate(0);
    let out = home.install_zccache(&server.url());
    assert_ok(&out);
    assert!(home.path().join("tools/zccache-1.15.8/zccache").is_file());
    assert!(
        leftovers(home.path()).is_empty(),
        "{:?}",
        leftovers(home.path())
    );
}

#[test]
fn kill_9_while_extracting_leaves_nothing_stale() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    kill_installer_at(&home, &server.url(), "extracting", Some("extracting:30000"));
    assert!(!home.path().join("tools/zccache-1.15.8").exists());
    assert_eq!(leftovers(home.path()).len(), 1);

    let out = home
        .fbuild(&["install", "zccache", "--no-daemon"])
        .env("FBUILD_ZCCACHE_URL", server.url())
        .output()
        .unwrap();
    assert_ok(&out);
    let version = Command::new(home.path().join("tools/zccache-1.15.8/zccache"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "zccache 1.15.8"
    );
    assert!(leftovers(home.path()).is_empty());
    assert_eq!(server.gets(&format!("/{}", zccache_asset())), 2);
}

#[test]
fn corrupted_binary_is_reinstalled_by_the_next_check() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    let install = || home.install_zccache(&server.url());
    assert!(install().status.success());
    let bin = home.path().join("tools/zccache-1.15.8/zccache");
    std::fs::write(&bin, b"#!/bin/sh\nexit 3\n").unwrap();
    let out = install();
    assert_ok(&out);
    assert_eq!(
        server.gets(&format!("/{}", zccache_asset())),
        2,
        "not reinstalled"
    );
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "zccache 1.15.8"
    );
    assert!(leftovers(home.path()).is_empty());
}

#[test]
fn managed_daemon_runs_with_controlled_env_and_cache_under_home() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    let out = home
        .fbuild(&["install", "zccache"])
        .env("FBUILD_ZCCACHE_URL", server.url())
        .env("MAKEFLAGS", "-j8 --jobserver-auth=3,4")
        .output()
        .unwrap();
    assert_ok(&out);
    let status = home.status_json();
    assert_eq!(status["zccache"]["source"], "managed", "{status}");
    let cache_dir = home.path().join("tools/zccache-cache");
    assert_eq!(
        status["zccache"]["cache_dir"],
        cache_dir.display().to_string()
    );

    let pids = zccache_daemon_pids(home.path());
    assert_eq!(pids.len(), 1, "zccache daemons: {pids:?}");
    let environ = std::fs::read(format!("/proc/{}/environ", pids[0])).unwrap();
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        vars.contains(&"ZCCACHE_MAX_PARALLEL_COMPILES=0".to_string()),
        "{vars:?}"
    );
    assert!(vars.contains(&format!("ZCCACHE_CACHE_DIR={}", cache_dir.display())));
    assert!(
        !vars.iter().any(|v| v.starts_with("MAKEFLAGS=")),
        "MAKEFLAGS leaked"
    );

    // It compiles, and the result lands in the cache under FBUILD_HOME.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("a.c"), "int answer(void) { return 42; }\n").unwrap();
    let zccache = home.path().join("tools/zccache-1.15.8/zccache");
    for _ in 0..2 {
        let _ = std::fs::remove_file(work.path().join("a.o"));
        let cc = Command::new(&zccache)
            .args(["/usr/bin/gcc", "-c", "a.c", "-o", "a.o"])
            .current_dir(work.path())
            .env("ZCCACHE_CACHE_DIR", &cache_dir)
            .output()
            .unwrap();
        assert_ok(&cc);
        assert!(work.path().join("a.o").is_file());
    }
    let stats = Command::new(&zccache)
        .args(["status", "--json"])
        .env("ZCCACHE_CACHE_DIR", &cache_dir)
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["daemon"]["cache_hits"], 1, "{stats}");
    assert!(
        stats["daemon"]["cache_dir"]
            .as_str()
            .unwrap()
            .starts_with(&cache_dir.display().to_string())
    );

    // A daemon that died is restarted, with the same controlled env, by
    // the next request that needs it.
    kill(pids[0], libc::SIGKILL);
    wait_until("the killed zccache daemon to be gone", || !alive(pids[0]));
    let out = home.install_zccache(&server.url());
    assert_ok(&out);
    let restarted = zccache_daemon_pids(home.path());
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    assert_ne!(restarted[0], pids[0]);
    let environ =
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{}/environ", restarted[0])).unwrap())
            .into_owned();
    assert!(environ.contains("ZCCACHE_MAX_PARALLEL_COMPILES=0"));

    // Stopping the coordinator stops the daemon it owns.
    assert!(home.run(&["daemon", "stop"]).status.success());
    wait_until("no zccache daemon after the coordinator stopped", || {
        zccache_daemon_pids(home.path()).is_empty()
    });
}
