//! The install gate on Windows, under wine: 16 `fbuild.exe install zccache
//! --no-daemon` at once (each its own process: the cross-process install
//! lock is fslock's Windows file lock) fetch the managed zccache's Windows
//! zip from a loopback mirror once; a wrong SHA256SUMS is refused with
//! nothing installed. Skipped unless FBUILD_WINE_BIN and FBUILD_WINE_DEPS
//! are set (scripts/test-windows sets them).

mod common;

use common::http::TestServer;
use common::wine::Wine;
use common::*;

const PROCESSES: usize = 16;

fn asset() -> String {
    format!("zccache-v{ZCCACHE_VERSION}-x86_64-pc-windows-msvc.zip")
}

fn install(wine: &Wine, home: &str, url: &str) -> std::process::Output {
    wine.output(
        wine.command(wine.exe("fbuild.exe"))
            .args(["install", "zccache", "--no-daemon"])
            .env("FBUILD_HOME", home)
            .env("FBUILD_ZCCACHE_URL", url),
    )
}

#[test]
fn sixteen_processes_one_download_and_a_bad_checksum_installs_nothing() {
    let Some(wine) = Wine::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::serve(wine.zccache_mirror());
    server.set_rate(4_000_000); // the processes overlap the download
    let home = dir.path().join("home");
    let win_home = wine.win_path(&home);
    let outs: Vec<_> = std::thread::scope(|s| {
        let started: Vec<_> = (0..PROCESSES)
            .map(|_| s.spawn(|| install(&wine, &win_home, &server.url())))
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for out in &outs {
        assert_ok(out);
    }
    assert_eq!(server.gets(&format!("/{}", asset())), 1, "archive GETs");
    let installed = home.join(format!("tools/zccache-{ZCCACHE_VERSION}/zccache.exe"));
    assert!(installed.is_file(), "{} missing", installed.display());
    eprintln!("{PROCESSES} processes -> 1 download");

    // A mirror whose SHA256SUMS names another digest for the zip.
    let bad = dir.path().join("bad-mirror");
    std::fs::create_dir(&bad).unwrap();
    let zip = std::fs::read(wine.zccache_mirror().join(asset())).unwrap();
    std::fs::write(bad.join(asset()), zip).unwrap();
    std::fs::write(
        bad.join("SHA256SUMS"),
        format!("{}  {}\n", "0".repeat(64), asset()),
    )
    .unwrap();
    let bad_server = TestServer::serve(&bad);
    let other = dir.path().join("other");
    let out = install(&wine, &wine.win_path(&other), &bad_server.url());
    assert!(!out.status.success(), "a wrong checksum was accepted");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("sha256") || said.contains("checksum"),
        "{said}"
    );
    assert!(
        !other
            .join(format!("tools/zccache-{ZCCACHE_VERSION}"))
            .exists(),
        "something was installed from a bad checksum"
    );
    wine.shutdown();
}
