//! Install failures: each ends `failed` with a clear reason, leaves nothing
//! in `tools/`, releases the lock and tells every waiter; an unreachable
//! mirror makes `auto` fall back, once.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::http::{Fault, TestServer};
use common::*;
use fbuild_core::protocol::{ErrorKind, Reply, Request};

/// A mirror dir with the real archive (or `archive` bytes) and the given
/// SHA256SUMS text (`{sha}` is replaced by the archive's real hash).
fn mirror_with(dir: &Path, archive: Option<Vec<u8>>, sums: &str) {
    let real = zccache_mirror();
    let bytes = archive.unwrap_or_else(|| std::fs::read(real.join(zccache_asset())).unwrap());
    std::fs::write(dir.join(zccache_asset()), &bytes).unwrap();
    let out = Command::new("sha256sum")
        .arg(dir.join(zccache_asset()))
        .output()
        .unwrap();
    let sha = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let sums = sums
        .replace("{sha}", &sha)
        .replace("{asset}", &zccache_asset());
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

/// A tar.gz with the release's top folder and one hostile entry.
fn hostile_archive(kind: &str) -> Vec<u8> {
    let script = r##"
import io, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
top = sys.argv[3]
with tarfile.open(out, "w:gz") as tar:
    d = tarfile.TarInfo(top); d.type = tarfile.DIRTYPE; d.mode = 0o755; tar.addfile(d)
    data = b"#!/bin/sh\necho zccache 1.15.8\n"
    f = tarfile.TarInfo(top + "/zccache"); f.size = len(data); f.mode = 0o755
    tar.addfile(f, io.BytesIO(data))
    evil = tarfile.TarInfo({"dotdot": "../x", "absolute": "/tmp/fbuild-evil-abs",
                            "symlink": top + "/escape"}[kind])
    if kind == "symlink":
        evil.type = tarfile.SYMTYPE; evil.linkname = "../../../../etc"
        tar.addfile(evil)
    else:
        evil.size = 4; tar.addfile(evil, io.BytesIO(b"evil"))
"##;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar.gz");
    let top = zccache_asset().trim_end_matches(".tar.gz").to_string();
    let st = Command::new("python3")
        .args(["-c", script, kind])
        .arg(&out)
        .arg(top)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read(out).unwrap()
}

fn install(home: &TestHome, url: &str) -> Output {
    home.install_zccache(url)
}

/// The install failed with `reason` and left nothing behind.
fn assert_clean_failure(home: &TestHome, out: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(reason), "expected {reason:?} in: {stderr}");
    assert!(!home.path().join("tools/zccache-1.15.8").exists());
    assert!(
        leftovers(home.path()).is_empty(),
        "{:?}",
        leftovers(home.path())
    );
    assert!(lock_is_free(&home.path().join("locks/zccache-1.15.8.lock")));
    let status = home.status_json();
    let install = &status["installs"][0];
    assert_eq!(install["phase"], "failed", "{status}");
    assert!(
        install["last_error"].as_str().unwrap().contains(reason),
        "{status}"
    );
}

fn lock_is_free(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: flock on a file we own; released when `file` closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[test]
fn wrong_sha256_is_refused_without_retry() {
    let home = TestHome::new();
    let dir = tempfile::tempdir().unwrap();
    mirror_with(
        dir.path(),
        None,
        &format!("{}  ./{{asset}}\n", "0".repeat(64)),
    );
    let server = TestServer::serve(dir.path());
    let out = install(&home, &server.url());
    assert_clean_failure(&home, &out, "checksum mismatch");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("expected sha256 {}", "0".repeat(64)))
    );
    assert_eq!(
        server.gets(&format!("/{}", zccache_asset())),
        1,
        "a mismatch is not retried"
    );
}

#[test]
fn missing_sha256sums_entry_is_refused() {
    let home = TestHome::new();
    let dir = tempfile::tempdir().unwrap();
    mirror_with(dir.path(), None, "{sha}  ./zccache-v9.9.9-other.tar.gz\n");
    let server = TestServer::serve(dir.path());
    let out = install(&home, &server.url());
    assert_clean_failure(&home, &out, "has no sha256 for");
    assert_eq!(
        server.gets(&format!("/{}", zccache_asset())),
        0,
        "downloaded unverifiable archive"
    );
}

#[test]
fn http_500_is_retried_once_then_fails() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    let archive = format!("/{}", zccache_asset());
    server.set_fault(&archive, Some(Fault::Status(500)));
    let out = install(&home, &server.url());
    assert_clean_failure(&home, &out, "HTTP 500");
    assert_eq!(server.gets(&archive), 2);
}

#[test]
fn truncated_body_is_retried_once_then_fails() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    let archive = format!("/{}", zccache_asset());
    server.set_fault(&archive, Some(Fault::Truncate(100_000)));
    let out = install(&home, &server.url());
    assert_clean_failure(&home, &out, "after 100000 bytes");
    assert_eq!(server.gets(&archive), 2);
}

#[test]
fn corrupt_body_fails_the_checksum() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    server.set_fault(&format!("/{}", zccache_asset()), Some(Fault::Corrupt));
    let out = install(&home, &server.url());
    assert_clean_failure(&home, &out, "checksum mismatch");
}

#[test]
fn hostile_archives_are_refused() {
    for (kind, reason) in [
        ("dotdot", "contains '..'"),
        ("absolute", "absolute path"),
        ("symlink", "leaves the package"),
    ] {
        let home = TestHome::new();
        let dir = tempfile::tempdir().unwrap();
        mirror_with(
            dir.path(),
            Some(hostile_archive(kind)),
            "{sha}  ./{asset}\n",
        );
        let server = TestServer::serve(dir.path());
        let out = install(&home, &server.url());
        assert_clean_failure(&home, &out, reason);
        assert!(!Path::new("/tmp/fbuild-evil-abs").exists());
        assert!(!home.path().join("tools/x").exists() && !home.path().join("x").exists());
    }
}

#[test]
fn every_waiter_is_told_of_a_failure_and_it_is_remembered() {
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    let archive = format!("/{}", zccache_asset());
    server.set_fault(&archive, Some(Fault::Truncate(3_000_000)));
    server.set_rate(2_000_000);
    home.start_with(&[("FBUILD_ZCCACHE_URL", &server.url())]);
    let ask = |retry: bool| {
        let client = home.client();
        let request = Request::Install {
            package: "zccache".into(),
            retry,
        };
        client.request(&request, &mut |_| {}).unwrap().reply
    };
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let waiters: Vec<_> = (0..4).map(|_| s.spawn(|| ask(false))).collect();
        waiters.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for reply in &replies {
        match reply {
            Reply::Error {
                kind: ErrorKind::InstallFailed,
                message,
            } => {
                assert!(
                    message.contains("cut short") || message.contains("bytes"),
                    "{message}"
                )
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    assert_eq!(
        server.gets(&archive),
        2,
        "one install (and its one retry) for 4 waiters"
    );
    // Remembered: the next request fails at once without the network.
    let t = Instant::now();
    let reply = ask(false);
    assert!(
        matches!(reply, Reply::Error { kind: ErrorKind::InstallFailed, ref message } if message.contains("remembered")),
        "{reply:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(server.gets(&archive), 2);
}

/// A directory with `zccache` (the real binary) to put on PATH.
fn ambient_zccache() -> (tempfile::TempDir, TestHome) {
    let donor = TestHome::new();
    let url = format!("file://{}", zccache_mirror().display());
    let out = donor
        .fbuild(&["install", "zccache", "--no-daemon"])
        .env("FBUILD_ZCCACHE_URL", url)
        .output()
        .unwrap();
    assert_ok(&out);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        donor.path().join("tools/zccache-1.15.8/zccache"),
        dir.path().join("zccache"),
    )
    .unwrap();
    (dir, donor)
}

fn resolve(home: &TestHome) -> (fbuild_core::protocol::ZccacheChoice, Duration) {
    resolve_as(home, &[])
}

/// Resolves with per-build settings `env` in the client's environment.
fn resolve_as(
    home: &TestHome,
    env: &[(&str, &str)],
) -> (fbuild_core::protocol::ZccacheChoice, Duration) {
    let t = Instant::now();
    let served = home
        .client_with(env)
        .request(&Request::ResolveZccache, &mut |_| {})
        .unwrap();
    match served.reply {
        Reply::Zccache(choice) => (choice, t.elapsed()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unreachable_mirror_falls_back_to_ambient_then_none_once() {
    // A port with nothing listening: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let path = std::env::var("PATH").unwrap();

    let home = TestHome::new();
    home.start_with(&[("FBUILD_ZCCACHE_URL", &url), ("PATH", "/usr/bin:/bin")]);
    let (choice, took) = resolve(&home);
    assert_eq!(choice.source, "none", "{choice:?}");
    assert!(
        choice.reason.contains("managed zccache unavailable"),
        "{}",
        choice.reason
    );
    assert!(
        choice.reason.contains("no zccache on PATH"),
        "{}",
        choice.reason
    );
    // Two refused connects and the 1 s retry backoff: ~1 s; 15 s leaves a
    // loaded machine room.
    assert!(took < Duration::from_secs(15), "fallback took {took:?}");
    let status = home.status_json();
    assert_eq!(status["zccache"]["source"], "none");

    let (bin_dir, _donor) = ambient_zccache();
    let home = TestHome::new();
    let server = TestServer::serve(zccache_mirror());
    server.set_fault("/SHA256SUMS", Some(Fault::Status(503)));
    home.start_with(&[
        ("FBUILD_ZCCACHE_URL", &server.url()),
        ("PATH", &format!("{}:{path}", bin_dir.path().display())),
    ]);
    let (choice, _) = resolve(&home);
    assert_eq!(choice.source, "ambient", "{choice:?}");
    assert!(choice.reason.contains("found on PATH"), "{}", choice.reason);
    assert!(choice.reason.contains("HTTP 503"), "{}", choice.reason);
    let gets = server.total_gets();
    assert_eq!(gets, 2, "one attempt and one retry");
    // Asked again (by 10 clients), nothing goes back to the network.
    for _ in 0..10 {
        assert_eq!(resolve(&home).0.source, "ambient");
    }
    assert_eq!(server.total_gets(), gets);
}

#[test]
fn off_and_managed_modes_force_one_path() {
    let home = TestHome::new();
    home.start();
    let (choice, _) = resolve_as(&home, &[("FBUILD_ZCCACHE", "off")]);
    assert_eq!(choice.source, "none");
    assert!(choice.reason.contains("FBUILD_ZCCACHE=off"));

    let (bin_dir, _donor) = ambient_zccache();
    let home = TestHome::new();
    let path = format!(
        "{}:{}",
        bin_dir.path().display(),
        std::env::var("PATH").unwrap()
    );
    home.start_with(&[
        ("FBUILD_ZCCACHE_URL", "http://127.0.0.1:9"),
        ("PATH", &path),
    ]);
    let (choice, _) = resolve_as(&home, &[("FBUILD_ZCCACHE", "managed")]);
    assert_eq!(
        choice.source, "none",
        "managed must not fall back: {choice:?}"
    );
}

/// An install onto a full disk (a 20 MB tmpfs: the 12 MB archive fits, the
/// 27 MB binary does not) fails saying so, and leaves no staging behind.
/// Needs root for a private mount namespace; skipped (and says so) else.
#[test]
fn a_full_disk_says_no_space_left() {
    let home = TestHome::new();
    std::fs::create_dir_all(home.path()).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=20m tmpfs '{}' && exec '{}' install zccache --no-daemon",
        home.path().display(),
        FBUILD
    );
    let probe = Command::new("unshare").args(["-m", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no private mount namespace here (needs root)");
        return;
    }
    let out = home
        .fbuild(&[])
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .output_of(Command::new("unshare").args(["-m", "sh", "-c", &script]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let error = err
        .lines()
        .find(|l| l.starts_with("fbuild: error"))
        .unwrap_or_default();
    assert!(error.contains("No space left on device"), "{err}");
    assert!(error.contains("free space"), "{error}");
}

trait EnvOf {
    /// Runs `cmd` with this command's environment.
    fn output_of(&self, cmd: &mut Command) -> std::process::Output;
}

impl EnvOf for Command {
    fn output_of(&self, cmd: &mut Command) -> std::process::Output {
        for (k, v) in self.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.output().unwrap()
    }
}
