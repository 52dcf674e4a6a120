//! How long a coordinator lives: idle exit, in-flight work keeping it up,
//! SIGTERM, and what the client does when a coordinator goes silent.

mod common;

use std::time::{Duration, Instant};

use common::*;
use fbuild_client::ClientError;
use fbuild_core::protocol::{Event, Reply, Request};
use fbuild_core::time::REQUEST_BUDGET;

#[test]
fn exits_after_idle_secs() {
    let home = TestHome::new();
    let t0 = Instant::now();
    let pid = home.start_with(&[("FBUILD_IDLE_SECS", "1")]);
    wait_until("the idle exit", || !alive(pid));
    let lived = t0.elapsed();
    assert!(
        lived >= Duration::from_secs(1),
        "exited after only {lived:?}"
    );
    let coord = home.path().join("coordinator");
    assert!(
        !coord.join("coordinator.sock").exists(),
        "socket left behind"
    );
    assert!(!coord.join("coordinator.json").exists(), "json left behind");
}

#[test]
fn request_in_flight_keeps_it_alive_past_idle() {
    let home = TestHome::new();
    let pid = home.start_with(&[("FBUILD_IDLE_SECS", "1")]);
    let client = home.client();
    let (tx, beats) = std::sync::mpsc::channel();
    let t0 = Instant::now();
    let holder = std::thread::spawn(move || {
        let hold = Request::Hold {
            millis: 4000,
            heartbeat: true,
        };
        client.request(&hold, &mut |e| {
            if let Event::Heartbeat { .. } = e {
                let _ = tx.send(Instant::now());
            }
        })
    });
    // The event: a heartbeat from the coordinator half a second past its
    // idle time (1 s), the request still in flight.
    let mut seen = Vec::new();
    while seen
        .last()
        .is_none_or(|t| *t - t0 < Duration::from_millis(1500))
    {
        match beats.recv_timeout(PATIENCE) {
            Ok(t) => seen.push(t),
            Err(e) => panic!("no heartbeat past the idle time ({e}); seen {seen:?}"),
        }
    }
    assert!(alive(pid), "exited while a request was in flight");
    // Idle exit starts by removing the socket: it is still there.
    assert!(home.path().join("coordinator/coordinator.sock").exists());
    let served = holder.join().unwrap().expect("hold request");
    seen.extend(beats.try_iter());
    assert_eq!(served.reply, Reply::Held);
    assert_eq!(served.coordinator.pid, pid);
    assert!(seen.len() >= 2, "heartbeats: {}", seen.len());
    // One per second (HEARTBEAT_INTERVAL); what matters is that a waiting
    // client never goes as long as its silence budget without one.
    for gap in seen.windows(2).map(|w| w[1] - w[0]) {
        assert!(gap < REQUEST_BUDGET, "heartbeat gap {gap:?}");
    }
    // Once the request is done, idle exit happens.
    wait_until("the idle exit after the request", || !alive(pid));
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let home = TestHome::new();
    let pid = home.start();
    kill(pid, libc::SIGTERM);
    wait_until("the coordinator to exit on SIGTERM", || !alive(pid));
    assert!(!home.path().join("coordinator/coordinator.sock").exists());
    let out = home.run(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stop_stops_and_status_does_not_start() {
    let home = TestHome::new();
    let out = home.run(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "not running");
    assert!(home.coordinator_pids().is_empty(), "status started one");

    let pid = home.start();
    let out = home.run(&["daemon", "stop"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&pid.to_string()));
    assert!(!alive(pid));
    assert!(home.coordinator_pids().is_empty());
}

#[test]
fn wedged_coordinator_is_replaced() {
    let home = TestHome::new();
    let wedged = home.start();
    // A stopped process still has its socket: connects succeed, nothing
    // ever answers.
    kill(wedged, libc::SIGSTOP);
    let client = home.client().with_budget(Duration::from_millis(500));
    let served = client
        .request(&Request::Status, &mut |_| {})
        .expect("status after replacing the wedged coordinator");
    assert_ne!(served.coordinator.pid, wedged);
    assert!(!alive(wedged), "the wedged coordinator was left running");
    assert_eq!(home.coordinator_pids(), vec![served.coordinator.pid]);
}

#[test]
fn busy_coordinator_is_left_alone() {
    let home = TestHome::new();
    let pid = home.start();
    let client = home.client().with_budget(Duration::from_millis(300));
    let silent_hold = Request::Hold {
        millis: 1500,
        heartbeat: false,
    };
    match client.request(&silent_hold, &mut |_| {}) {
        Err(ClientError::Busy(_)) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(alive(pid));
    assert_eq!(home.start(), pid);
}

/// `rm -rf $FBUILD_HOME` under a running coordinator (issue 29): the next
/// client starts another, the first leaves by itself (its lock is not the
/// home's any more) without taking the second's socket with it.
#[test]
fn a_home_removed_under_its_coordinator_is_served_by_the_next_one() {
    let home = TestHome::new();
    let first = home.start();
    std::fs::remove_dir_all(home.path()).unwrap();
    let second = home.start();
    assert_ne!(first, second);
    assert!(
        wait_for(Duration::from_secs(20), || !alive(first)),
        "the first coordinator stayed"
    );
    assert!(alive(second));
    let status = home.status_json();
    assert_eq!(status["pid"], second, "{status}");
    assert!(home.path().join("coordinator/coordinator.sock").exists());
    let log = std::fs::read_to_string(home.path().join("coordinator/coordinator.log"))
        .unwrap_or_default();
    assert!(!log.contains("another coordinator"), "{log}");
}
