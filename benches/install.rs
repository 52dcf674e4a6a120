//! Install-gate figures (a benchmark, not a test), with the real zccache
//! release mirror (scripts/mirror-zccache) over a loopback HTTP server:
//!
//! * time from the first request to `installed` on a fresh FBUILD_HOME,
//!   through the coordinator (download, verify, extract, health check),
//!   unthrottled, side by side with `curl | sha256sum` + `tar xzf` of the
//!   same archive (the floor a hand-rolled install script would pay);
//! * the gaps between progress events seen by a waiting client while the
//!   download is throttled to 4 MB/s.
//!
//! `cargo bench --bench install`

#[allow(dead_code)] // the tests use the rest of the server
#[path = "../tests/common/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fbuild_client::Client;
use fbuild_core::Settings;
use fbuild_core::protocol::{Event, Reply, Request};

const COORDINATOR: &str = env!("CARGO_BIN_EXE_fbuild-coordinator");

fn mirror(dir: &Path) -> PathBuf {
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/mirror-zccache"
    ))
    .arg(dir)
    .output()
    .expect("mirror-zccache");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.to_path_buf()
}

/// A client whose coordinator is started with the mirror URL.
fn client(home: &Path, url: &str) -> Client {
    // The coordinator inherits this process's environment.
    // SAFETY: set before any thread of ours reads the environment.
    unsafe { std::env::set_var("FBUILD_ZCCACHE_URL", url) };
    let home = home.to_path_buf();
    let settings = Settings::from_vars(|k| match k {
        "FBUILD_HOME" => Some(home.clone().into_os_string()),
        _ => None,
    })
    .unwrap();
    Client::new(settings).with_coordinator_bin(COORDINATOR)
}

fn install(client: &Client, on_event: &mut dyn FnMut(&Event)) -> Duration {
    let t = Instant::now();
    let request = Request::Install {
        package: "zccache".into(),
        retry: true,
    };
    let served = client.request(&request, on_event).expect("install");
    assert!(
        matches!(served.reply, Reply::Installed { .. }),
        "{:?}",
        served.reply
    );
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mirror = mirror(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zccache-mirror"));
    let server = http::TestServer::serve(&mirror);
    let asset = std::fs::read_dir(&mirror)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".tar.gz"))
        .unwrap();

    let mut fbuild = Vec::new();
    let mut floor = Vec::new();
    for i in 0..5 {
        let home = work.path().join(format!("home-{i}"));
        let c = client(&home, &server.url());
        c.start().unwrap(); // coordinator start is measured by the coordinator bench
        fbuild.push(install(&c, &mut |_| {}));
        c.stop().unwrap();

        let dest = work.path().join(format!("curl-{i}"));
        std::fs::create_dir_all(&dest).unwrap();
        let t = Instant::now();
        let script = format!(
            "curl -sf {url}/{asset} -o {d}/a.tgz && sha256sum {d}/a.tgz >/dev/null && tar xzf {d}/a.tgz -C {d}",
            url = server.url(),
            d = dest.display()
        );
        assert!(
            Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap()
                .success()
        );
        floor.push(t.elapsed());
    }
    fbuild.sort();
    floor.sort();
    println!(
        "install zccache 1.15.8 over loopback: fbuild median {:.0} ms (min {:.0}); \
         curl+sha256sum+tar median {:.0} ms; ratio {:.2}",
        ms(fbuild[2]),
        ms(fbuild[0]),
        ms(floor[2]),
        ms(fbuild[2]) / ms(floor[2])
    );

    server.set_rate(4_000_000);
    let home = work.path().join("throttled");
    let c = client(&home, &server.url());
    c.start().unwrap();
    let mut stamps = Vec::new();
    let took = install(&c, &mut |e| {
        if matches!(e, Event::Install(_)) {
            stamps.push(Instant::now());
        }
    });
    c.stop().unwrap();
    let gaps: Vec<Duration> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    let max = gaps.iter().max().copied().unwrap_or_default();
    let mean = gaps.iter().sum::<Duration>() / gaps.len().max(1) as u32;
    println!(
        "throttled to 4 MB/s: installed in {:.1} s, {} progress events, gap mean {:.0} ms, max {:.0} ms",
        took.as_secs_f64(),
        stamps.len(),
        ms(mean),
        ms(max)
    );
}
