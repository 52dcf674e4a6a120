//! Coordinator start-up and round-trip latency (a benchmark, not a test).
//!
//! `cargo bench --bench coordinator` prints, for this machine:
//! * cold: spawn a coordinator on a fresh FBUILD_HOME and get the first
//!   `status` reply (what the first compile of a build pays), and
//! * warm: one `status` round trip to a running coordinator (what every
//!   later compile pays), through the same sync client the shim uses.
//!
//! Goals from issue 2: cold <= 30 ms, warm <= 1 ms.

use std::time::{Duration, Instant};

use fbuild_client::Client;
use fbuild_core::Settings;
use fbuild_core::protocol::{Reply, Request};

const COORDINATOR: &str = env!("CARGO_BIN_EXE_fbuild-coordinator");

fn client(home: &std::path::Path) -> Client {
    let home = home.to_path_buf();
    let settings = Settings::from_vars(|k| match k {
        "FBUILD_HOME" => Some(home.clone().into_os_string()),
        "FBUILD_ZCCACHE" => Some("off".into()),
        _ => None,
    })
    .expect("settings");
    Client::new(settings).with_coordinator_bin(COORDINATOR)
}

fn status(client: &Client) -> Duration {
    let t = Instant::now();
    let served = client
        .request(&Request::Status, &mut |_| {})
        .expect("status");
    assert!(matches!(served.reply, Reply::Status(_)));
    t.elapsed()
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!(
        "{name:<34} n={:<5} median {:>9.3} ms  p90 {:>9.3} ms  min {:>9.3} ms",
        samples.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` / nextest probing
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cold = Vec::new();
    for i in 0..20 {
        let home = dir.path().join(format!("cold-{i}"));
        let c = client(&home);
        cold.push(status(&c));
        c.stop().expect("stop");
    }
    summary("cold start + first status", cold);

    let home = dir.path().join("warm");
    let c = client(&home);
    status(&c);
    let warm: Vec<Duration> = (0..2000).map(|_| status(&c)).collect();
    summary("warm status round trip", warm);

    // What a shim pays on every call: a plan for `cc` (zccache off here,
    // so this is the coordinator's own work: PATH search and reply).
    let plan = Request::Plan(fbuild_core::protocol::PlanRequest {
        tool: "cc".into(),
        platform: "native".into(),
        cwd: "/tmp".into(),
        path: std::env::var_os("PATH").unwrap_or_default(),
        shim_exe: COORDINATOR.into(),
        wants_phony_style: false,
        wants_color: false,
    });
    let plans: Vec<Duration> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            let served = c.request(&plan, &mut |_| {}).expect("plan");
            assert!(matches!(served.reply, Reply::Plan(_)), "{:?}", served.reply);
            t.elapsed()
        })
        .collect();
    summary("warm plan round trip (cc)", plans);
    c.stop().expect("stop");
}
