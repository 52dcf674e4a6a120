//! Starting the coordinator: one per home however many clients race, a
//! fresh one after kill -9, the newer version wins, and a coordinator
//! started from inside make holds none of make's fds.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;

#[test]
fn sixty_four_racing_clients_share_one_coordinator() {
    let home = Arc::new(TestHome::new());
    let barrier = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (home, barrier) = (Arc::clone(&home), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut cmd = home.fbuild(&["daemon", "start"]);
                barrier.wait();
                cmd.output().expect("spawn fbuild")
            })
        })
        .collect();
    let pids: Vec<u32> = threads
        .into_iter()
        .map(|t| parse_pid(&t.join().unwrap()))
        .collect();
    assert!(pids.iter().all(|p| *p == pids[0]), "pids differ: {pids:?}");
    assert_eq!(home.coordinator_pids(), vec![pids[0]]);
}

#[test]
fn kill_9_leaves_nothing_that_blocks_the_next_start() {
    let home = TestHome::new();
    let first = home.start();
    kill(first, libc::SIGKILL);
    wait_until("the killed coordinator to be gone", || !alive(first));
    // The dead one's socket file, lock file and json are all still there.
    let coord = home.path().join("coordinator");
    assert!(coord.join("coordinator.sock").exists());
    assert!(coord.join("coordinator.json").exists());

    let second = home.start();
    assert_ne!(first, second);
    let status = home.status_json();
    assert_eq!(status["pid"], second);
    assert_eq!(home.coordinator_pids(), vec![second]);
}

#[test]
fn newer_client_replaces_older_coordinator() {
    let home = TestHome::new();
    let old = home.start_with(&[("FBUILD_VERSION_OVERRIDE", "0.0.1")]);
    assert_eq!(home.status_json()["version"], "0.0.1");

    let new = home.start();
    assert_ne!(old, new, "the old coordinator was kept");
    assert!(!alive(old), "the old coordinator is still running");
    assert_eq!(home.status_json()["version"], env!("CARGO_PKG_VERSION"));
    // And it stays: a second current client does not restart it.
    assert_eq!(home.start(), new);
}

#[test]
fn older_client_uses_newer_coordinator() {
    let home = TestHome::new();
    let newer = home.start_with(&[("FBUILD_VERSION_OVERRIDE", "99.0.0")]);
    // This build (0.x) is older than 99.0.0: it must not evict it.
    assert_eq!(home.start(), newer);
    assert_eq!(home.start(), newer);
    assert_eq!(home.status_json()["version"], "99.0.0");
    assert_eq!(home.coordinator_pids(), vec![newer]);
}

#[test]
fn started_from_make_holds_none_of_makes_fds() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    // Two recipes under -j2 so make's jobserver pipe is open in them; their
    // output is piped back to this test.
    std::fs::write(
        work.path().join("Makefile"),
        "all: a b\n\
         a:\n\t$(FBUILD) daemon start > a.pid\n\t@echo started-a\n\
         b:\n\t$(FBUILD) daemon start > b.pid\n\t@echo started-b\n",
    )
    .unwrap();
    let mut make = clean_command("make");
    make.args(["-j2", &format!("FBUILD={FBUILD}")])
        .current_dir(work.path())
        .env("FBUILD_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = make.spawn().expect("make");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    // wait_with_output reads the pipes to EOF: it only returns if no process
    // (the coordinator included) still holds make's output pipe.
    let out = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("make did not finish: something holds its pipes")
        .unwrap();
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("started-a") && stdout.contains("started-b"));

    let pid: u32 = std::fs::read_to_string(work.path().join("a.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
    for fd in fds {
        let fd = fd.unwrap();
        let target = std::fs::read_link(fd.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        assert!(
            !target.starts_with("pipe:"),
            "coordinator holds a pipe at fd {:?}: {target}",
            fd.file_name()
        );
        let n: i32 = fd.file_name().to_str().unwrap().parse().unwrap();
        if n <= 2 {
            assert_eq!(target, "/dev/null", "fd {n}");
        }
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, home.path().join("coordinator").canonicalize().unwrap());
}
