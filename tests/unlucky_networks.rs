//! Networks that stall or crawl (issue 29): a download that goes silent
//! fails its attempt after `FBUILD_DOWNLOAD_STALL_SECS` and is retried
//! once, with a message saying so; a build given up on takes its download
//! with it (the next build starts afresh instead of attaching to it); a
//! library index that takes longer than a request's budget keeps its
//! client informed and the build succeeds. A git clone is held to the
//! same rules (git itself waits forever on a silent server). A loopback
//! server of the test's own stalls and throttles.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::hostile::{python, stderr};
use common::http::{Fault, TestServer};
use common::*;

/// `served/<name>.zip`: a library `name` with `src/<name>.h` and
/// `pad` bytes of incompressible data beside it.
fn library_zip(served: &Path, name: &str, pad: usize) -> PathBuf {
    let zip = served.join(format!("{name}.zip"));
    python(&format!(
        "import os, zipfile\n\
         z = zipfile.ZipFile({zip:?}, 'w', zipfile.ZIP_DEFLATED)\n\
         z.writestr('{name}/library.properties', 'name={name}\\nversion=1.0.0\\n')\n\
         z.writestr('{name}/src/{name}.h', 'static inline int {name}(void) {{ return 7; }}\\n')\n\
         z.writestr('{name}/extras/pad.bin', os.urandom({pad}))\n\
         z.close()\n"
    ));
    zip
}

/// A native project whose `src/main.c` includes `<name>.h`.
fn project(dir: &Path, name: &str, lib_deps: &str) -> PathBuf {
    let proj = dir.join("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(
        proj.join("platformio.ini"),
        format!("[env:native]\nplatform = native\nlib_deps = {lib_deps}\n"),
    )
    .unwrap();
    std::fs::write(
        proj.join("src/main.c"),
        format!("#include <{name}.h>\nint main(void) {{ return {name}() - 7; }}\n"),
    )
    .unwrap();
    proj
}

/// `served/<name>.git`: a bare repository, served the "dumb" way (plain
/// files), tagged `v1`, with `src/<name>.h` and `pad` random bytes; the
/// path of its one pack.
fn git_repo(served: &Path, name: &str, pad: usize) -> String {
    let work = served.join(format!("{name}-work"));
    std::fs::create_dir_all(work.join("src")).unwrap();
    std::fs::write(
        work.join("src").join(format!("{name}.h")),
        format!("static inline int {name}(void) {{ return 7; }}\n"),
    )
    .unwrap();
    python(&format!(
        "import os; open({:?}, 'wb').write(os.urandom({pad}))",
        work.join("pad.bin")
    ));
    let bare = served.join(format!("{name}.git"));
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    git(&work, &["init", "-q"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-qm", "v1"]);
    git(&work, &["tag", "v1"]);
    git(
        served,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["repack", "-q", "-a", "-d"]);
    git(&bare, &["update-server-info"]);
    let pack = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".pack"))
        .unwrap();
    format!("/{name}.git/objects/pack/{pack}")
}

fn build_cmd(home: &TestHome, dir: &Path) -> Command {
    let mut cmd = home.fbuild(&["build", dir.to_str().unwrap()]);
    cmd.env("FBUILD_ZCCACHE", "off");
    cmd
}

/// Runs `build` with a 1 s stall limit; it must fail: its stderr.
fn stalled(build: &mut Command) -> String {
    let out = build
        .env("FBUILD_DOWNLOAD_STALL_SECS", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    err
}

/// `build`, started with its output nowhere.
fn spawn_quiet(build: &mut Command) -> Child {
    build
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The user gives up on `build`.
fn give_up(mut build: Child) {
    kill(build.id(), libc::SIGKILL);
    let _ = build.wait();
}

/// Waits until the install of `name` failed as cancelled.
fn assert_cancelled(home: &TestHome, name: &str) {
    assert!(
        wait_for(Duration::from_secs(30), || install_status(home, name)
            .is_some_and(|s| s["phase"] == "failed"
                && s["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("cancelled")))),
        "{name} was not cancelled: {:?}",
        install_status(home, name)
    );
}

#[test]
fn a_stalled_download_fails_its_attempt_and_is_retried_once() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    library_zip(&served, "Stally", 300_000);
    let server = TestServer::serve(&served);
    server.set_fault("/Stally.zip", Some(Fault::Stall(100_000)));
    let proj = project(
        work.path(),
        "Stally",
        &format!("{}/Stally.zip", server.url()),
    );
    let err = stalled(&mut build_cmd(&home, &proj));
    assert!(
        err.contains("no data from") && err.contains("for 1 s after 100000 bytes"),
        "{err}"
    );
    assert!(err.contains("FBUILD_DOWNLOAD_STALL_SECS"), "{err}");
    assert_eq!(server.gets("/Stally.zip"), 2, "one attempt and one retry");
    // The same line is not printed again and again while nothing moves.
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("downloading")).collect();
    let mut unique = lines.clone();
    unique.dedup();
    assert_eq!(lines, unique, "{err}");
}

/// The install `name` in `fbuild daemon status --json`, if there.
fn install_status(home: &TestHome, name: &str) -> Option<serde_json::Value> {
    home.status_json()["installs"]
        .as_array()?
        .iter()
        .find(|i| i["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .cloned()
}

#[test]
fn a_build_given_up_on_takes_its_download_with_it() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    library_zip(&served, "Crawly", 1_000_000);
    let server = TestServer::serve(&served);
    server.set_rate(20_000); // 50 s for the archive
    let proj = project(
        work.path(),
        "Crawly",
        &format!("{}/Crawly.zip", server.url()),
    );
    let build = spawn_quiet(&mut build_cmd(&home, &proj));
    assert!(
        wait_for(Duration::from_secs(30), || install_status(&home, "Crawly")
            .is_some_and(
                |s| s["phase"] == "downloading" && s["bytes_done"].as_u64() > Some(0)
            )),
        "the download never started: {:?}",
        install_status(&home, "Crawly")
    );
    // The user gives up: the download does not go on.
    give_up(build);
    assert_cancelled(&home, "Crawly");
    // The next build starts its own download, at full speed, at once.
    server.set_rate(0);
    let out = build_cmd(&home, &proj).output().unwrap();
    assert_ok(&out);
    assert!(!stderr(&out).contains("remembered"), "{}", stderr(&out));
    assert_eq!(server.gets("/Crawly.zip"), 2);
}

/// `served/library_index.json` listing `Indexed` (served from `base`) and
/// `pad` more libraries.
fn library_index(served: &Path, base: &str, pad: usize) {
    let zip = library_zip(served, "Indexed", 1_000);
    let mut libraries = vec![serde_json::json!({
        "name": "Indexed", "version": "1.0.0",
        "url": format!("{base}/Indexed.zip"), "checksum": format!("SHA-256:{}", sha256(&zip))
    })];
    for n in 0..pad {
        libraries.push(serde_json::json!({
            "name": format!("Padding{n}"), "version": "1.0.0",
            "url": format!("http://127.0.0.1:9/Padding{n}-1.0.0-with-a-longer-name.zip"),
            "checksum": format!("SHA-256:{}", "0".repeat(64)),
        }));
    }
    let index = serde_json::json!({ "libraries": libraries }).to_string();
    std::fs::write(served.join("library_index.json"), index).unwrap();
}

#[test]
fn a_slow_library_index_keeps_its_client_informed_and_is_fetched_once() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = TestServer::serve(&served);
    // ~800 KB of index at 64 KB/s: longer than a request's 10 s budget.
    library_index(&served, &server.url(), 5_000);
    assert!(
        std::fs::metadata(served.join("library_index.json"))
            .unwrap()
            .len()
            > 700_000
    );
    server.set_rate(64_000);
    let proj = project(work.path(), "Indexed", "Indexed @ 1.0.0");
    let index_url = format!("{}/library_index.json", server.url());
    // A first build is given up on while the index comes in.
    let first = spawn_quiet(build_cmd(&home, &proj).env("FBUILD_LIBRARY_INDEX", &index_url));
    assert!(
        wait_for(Duration::from_secs(30), || server
            .gets("/library_index.json")
            == 1),
        "the index was never asked for"
    );
    give_up(first);
    let out = build_cmd(&home, &proj)
        .env("FBUILD_LIBRARY_INDEX", &index_url)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_ok(&out);
    assert!(
        err.contains("library index library_index.json: downloading"),
        "no progress was shown:\n{err}"
    );
    assert_eq!(
        server.gets("/library_index.json"),
        1,
        "the second build fetched the index again"
    );
}

#[test]
fn a_silent_index_fails_its_attempt_is_retried_once_and_not_remembered() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = TestServer::serve(&served);
    library_index(&served, &server.url(), 0);
    server.set_fault("/library_index.json", Some(Fault::Silent));
    let proj = project(work.path(), "Indexed", "Indexed @ 1.0.0");
    let index_url = format!("{}/library_index.json", server.url());
    let build = || {
        let mut cmd = build_cmd(&home, &proj);
        cmd.env("FBUILD_LIBRARY_INDEX", &index_url);
        cmd
    };
    let err = stalled(&mut build());
    assert!(
        err.contains(&format!("no answer from {index_url} for 1 s"))
            && err.contains("FBUILD_DOWNLOAD_STALL_SECS"),
        "{err}"
    );
    assert_eq!(
        server.gets("/library_index.json"),
        2,
        "one attempt and one retry"
    );
    server.set_fault("/library_index.json", None);
    assert_ok(&build().output().unwrap());
}

#[test]
fn a_stalled_git_clone_fails_its_attempt_and_leaves_no_git_behind() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let pack = git_repo(&served, "Gitty", 300_000);
    let server = TestServer::serve(&served);
    server.set_fault(&pack, Some(Fault::Stall(100_000)));
    let url = format!("{}/Gitty.git", server.url());
    let proj = project(work.path(), "Gitty", &format!("git+{url}#v1"));
    let err = stalled(&mut build_cmd(&home, &proj));
    assert!(
        err.contains("git made no progress with") && err.contains("FBUILD_DOWNLOAD_STALL_SECS"),
        "{err}"
    );
    assert_eq!(server.gets(&pack), 2, "one attempt and one retry");
    assert_eq!(
        processes_with(&url),
        Vec::<String>::new(),
        "git outlived its attempt"
    );
    // Served again, the same library installs.
    server.set_fault(&pack, None);
    let out = build_cmd(&home, &proj).output().unwrap();
    assert_ok(&out);
}

#[test]
fn a_build_given_up_on_takes_its_git_clone_with_it() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    git_repo(&served, "Slowgit", 1_000_000);
    let server = TestServer::serve(&served);
    server.set_rate(20_000); // 50 s for the pack
    let url = format!("{}/Slowgit.git", server.url());
    let proj = project(work.path(), "Slowgit", &format!("git+{url}#v1"));
    let build = spawn_quiet(&mut build_cmd(&home, &proj));
    assert!(
        wait_for(Duration::from_secs(30), || !processes_with(&url).is_empty()),
        "git never started"
    );
    give_up(build);
    assert!(
        wait_for(Duration::from_secs(30), || processes_with(&url).is_empty()),
        "git went on for nobody: {:?}",
        processes_with(&url)
    );
    assert_cancelled(&home, "Slowgit");
}
