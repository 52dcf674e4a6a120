//! A build never fails because of fbuild's own machinery, and settings mean
//! what they say: zccache's daemon killed mid-build, per-build settings
//! against a running coordinator, non-UTF-8 PATH and cwd, an unwritable
//! home, and per-coordinator settings that differ.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::project::make_clean;
use common::*;

/// `n` C files of some weight (a compile takes tens of ms) and a Makefile.
fn project(dir: &Path, n: usize) {
    let mut objs = String::new();
    for i in 0..n {
        let mut text = String::from("#include <stdio.h>\n");
        for k in 0..150 {
            text.push_str(&format!(
                "int f{i}_{k}(int x) {{ return x * {k} + printf(\"%d\", x + {i}); }}\n"
            ));
        }
        std::fs::write(dir.join(format!("f{i}.c")), text).unwrap();
        objs.push_str(&format!(" f{i}.o"));
    }
    std::fs::write(
        dir.join("Makefile"),
        format!("all:{objs}\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\nclean:\n\trm -f *.o\n"),
    )
    .unwrap();
}

fn warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("fbuild: warning"))
        .map(str::to_string)
        .collect()
}

fn objects(dir: &Path, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| std::fs::read(dir.join(format!("f{i}.o"))).unwrap())
        .collect()
}

/// The same objects built with plain `cc`, for comparison.
fn reference_objects(n: usize) -> Vec<Vec<u8>> {
    let plain = tempfile::tempdir().unwrap();
    project(plain.path(), n);
    assert_ok(&common::project::make(
        plain.path(),
        2,
        &[("CC", "cc")],
        &[],
    ));
    objects(plain.path(), n)
}

/// Kills zccache's daemon with `signal` once a few objects exist, while
/// `make -j2` goes on through the shims; returns make's output and how
/// many objects existed at the kill.
fn build_with_daemon_killed(
    home: &TestHome,
    work: &Path,
    n: usize,
    signal: i32,
) -> (Output, usize) {
    let cc = home.shims().join("cc").display().to_string();
    let make = clean_command("make")
        .args(["-j2", &format!("CC={cc}")])
        .current_dir(work)
        .env("FBUILD_HOME", home.path())
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let count = || {
        (0..n)
            .filter(|i| work.join(format!("f{i}.o")).is_file())
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(60), || count() >= 4),
        "no objects appeared"
    );
    let before = count();
    let daemons = zccache_daemon_pids(home.path());
    assert!(!daemons.is_empty(), "no zccache daemon to kill");
    for pid in daemons {
        kill(pid, signal);
    }
    let out = make.wait_with_output().unwrap();
    (out, before)
}

/// A project of `n` files built with the daemon killed by `signal`; the
/// build succeeds with the objects plain `cc` makes and at most one
/// warning. Returns the home, the project and how many objects existed at
/// the kill.
fn killed_build(n: usize, signal: i32) -> (TestHome, tempfile::TempDir, usize) {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    project(work.path(), n);
    let (out, before) = build_with_daemon_killed(&home, work.path(), n, signal);
    assert_ok(&out);
    assert!(before < n, "the kill came after the build");
    assert_eq!(objects(work.path(), n), reference_objects(n));
    let said = warnings(&out);
    assert!(said.len() <= 1, "{said:#?}");
    (home, work, before)
}

#[test]
fn zccache_daemon_killed_mid_build_fails_open_and_keeps_its_entries() {
    const N: usize = 24;
    let (home, work, before) = killed_build(N, libc::SIGTERM);

    // The entries compiled before the kill are still in the cache: a clean
    // rebuild hits at least those (the daemon was restarted by the
    // coordinator or by zccache's client).
    let cc = home.shims().join("cc").display().to_string();
    let env = [
        ("FBUILD_HOME", home.path().to_str().unwrap()),
        ("FBUILD_ZCCACHE_URL", &mirror_url()),
    ];
    make_clean(work.path());
    let hits_before = home.zccache_stats()["cache_hits"].as_u64().unwrap_or(0);
    assert_ok(&common::project::make(work.path(), 2, &[("CC", &cc)], &env));
    let hits = home.zccache_stats()["cache_hits"].as_u64().unwrap_or(0) - hits_before;
    assert!(
        hits >= before as u64,
        "{hits} hits, {before} objects were cached before the kill"
    );
    assert_eq!(objects(work.path(), N), reference_objects(N));
}

#[test]
fn zccache_daemon_killed_with_sigkill_still_builds() {
    // zccache 1.15.8 writes its index at shutdown: a SIGKILLed daemon's
    // entries are lost (measured), but the build must not be.
    killed_build(16, libc::SIGKILL);
}

/// Compiles through zccache's client (`FBUILD_ZCCACHE_WIRE=off`) with its
/// daemon killed: the client must not start a daemon of its own (zccache's
/// client otherwise does, held compiles up to its 30 s recovery budget
/// under load and left a daemon nobody stopped), so the compile runs
/// without the cache, said once; the coordinator then starts the daemon
/// again although the client's failure left zccache's spawn breaker (which
/// vetoes `zccache start` for 60 s); and stopping the coordinator leaves
/// no daemon and no remembered plan.
#[test]
fn only_the_coordinator_starts_zccache_daemons() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("x.c"), "int x(void) { return 41; }\n").unwrap();
    let client = [("FBUILD_ZCCACHE_WIRE", OsString::from("off"))];
    assert_ok(&shim_cc(&home, dir, &client));
    assert_eq!(compilations(&home), 1);
    let first = zccache_daemon_pids(home.path());
    assert_eq!(first.len(), 1, "{first:?}");
    kill(first[0], libc::SIGKILL);
    wait_until("the killed zccache daemon to be gone", || !alive(first[0]));

    std::fs::write(dir.join("x.c"), "int x(void) { return 42; }\n").unwrap();
    let out = shim_cc(&home, dir, &client);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("compiling without the cache"),
        "zccache's client compiled (it started a daemon?): {err}"
    );
    let cache = home.path().join("tools/zccache-cache");
    let breakers = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .flat_map(|v| std::fs::read_dir(v.path()).into_iter().flatten().flatten())
            .filter(|f| f.file_name().to_string_lossy().ends_with(".spawn-failed"))
            .count()
    };
    assert_eq!(breakers(), 1, "the client left no spawn breaker");
    let plain = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("x.c"), plain.path().join("x.c")).unwrap();
    assert_ok(
        &Command::new("cc")
            .args(["-O2", "-c", "x.c", "-o", "x.o"])
            .current_dir(plain.path())
            .output()
            .unwrap(),
    );
    assert_eq!(
        std::fs::read(dir.join("x.o")).unwrap(),
        std::fs::read(plain.path().join("x.o")).unwrap()
    );

    // The failure was reported: the next compile gets a daemon the
    // coordinator started, breaker or not, and is cached again.
    std::fs::write(dir.join("x.c"), "int x(void) { return 43; }\n").unwrap();
    let next = shim_cc(&home, dir, &client);
    assert_ok(&next);
    assert!(
        next.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    let now = zccache_daemon_pids(home.path());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], first[0]);
    assert_eq!(breakers(), 0);
    assert_eq!(compilations(&home), 1, "a fresh daemon counts from zero");

    let plans = home.path().join("coordinator/plans");
    assert!(plans.is_dir(), "no plan was remembered");
    assert_ok(&home.run(&["daemon", "stop"]));
    wait_until("no zccache daemon after the coordinator stopped", || {
        zccache_daemon_pids(home.path()).is_empty()
    });
    // Plans naming the stopped daemon are gone with it.
    assert!(!plans.exists());
}

/// Compiles `x.c` in `dir` through the `cc` shim with `env`.
fn shim_cc(home: &TestHome, dir: &Path, env: &[(&str, OsString)]) -> Output {
    clean_command(home.shims().join("cc"))
        .args(["-O2", "-c", "x.c", "-o", "x.o"])
        .current_dir(dir)
        .env("FBUILD_HOME", home.path())
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn compilations(home: &TestHome) -> u64 {
    home.zccache_stats()["total_compilations"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn per_build_zccache_setting_wins_over_the_running_coordinator() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("x.c"), "int x(void) { return 1; }\n").unwrap();

    // A coordinator started by a client with `off`; a default build after it
    // is cached all the same.
    let home = TestHome::new();
    let mirror = mirror_url();
    home.start_with(&[("FBUILD_ZCCACHE", "off"), ("FBUILD_ZCCACHE_URL", &mirror)]);
    assert_ok(&shim_cc(&home, work.path(), &[]));
    assert_eq!(compilations(&home), 1);
    // And `off` for one build against that (now `auto`) coordinator is off.
    assert_ok(&shim_cc(
        &home,
        work.path(),
        &[("FBUILD_ZCCACHE", "off".into())],
    ));
    assert_eq!(
        compilations(&home),
        1,
        "FBUILD_ZCCACHE=off still compiled through zccache"
    );
    assert_ok(&shim_cc(&home, work.path(), &[]));
    assert_eq!(compilations(&home), 2);
}

#[test]
fn non_utf8_path_and_cwd_compile_and_leave_the_coordinator_healthy() {
    let root = tempfile::tempdir().unwrap();
    let odd = root
        .path()
        .join(PathBuf::from(OsString::from_vec(b"dir-\xff-x".to_vec())));
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("x.c"), "int x(void) { return 2; }\n").unwrap();
    let mut path = OsString::from_vec(odd.as_os_str().as_encoded_bytes().to_vec());
    path.push(":/usr/bin:/bin");

    let home = TestHome::new();
    // The first client (which spawns the coordinator) runs from the odd dir
    // with the odd PATH.
    let out = shim_cc(&home, &odd, &[("PATH", path.clone())]);
    assert_ok(&out);
    let plain = Command::new("cc")
        .args(["-O2", "-c", "x.c", "-o", "plain.o"])
        .current_dir(&odd)
        .output()
        .unwrap();
    assert_ok(&plain);
    assert_eq!(
        std::fs::read(odd.join("x.o")).unwrap(),
        std::fs::read(odd.join("plain.o")).unwrap()
    );
    // A normal compile afterwards goes through zccache: the coordinator
    // and its daemon are healthy.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("x.c"), "int y(void) { return 3; }\n").unwrap();
    let before = compilations(&home);
    assert_ok(&shim_cc(&home, work.path(), &[("PATH", path)]));
    assert_eq!(compilations(&home), before + 1);
}

#[test]
fn unwritable_home_builds_with_exactly_one_warning() {
    let root = tempfile::tempdir().unwrap();
    // A home under a regular file: nothing can be created there, even as
    // root.
    std::fs::write(root.path().join("file"), "").unwrap();
    let home = root.path().join("file/home");
    let shim_home = TestHome::new();
    let shims = shim_home.shims();
    let work = tempfile::tempdir().unwrap();
    project(work.path(), 6);
    let cc = shims.join("cc").display().to_string();
    let out = common::project::make(
        work.path(),
        4,
        &[("CC", &cc)],
        &[("FBUILD_HOME", home.to_str().unwrap())],
    );
    assert_ok(&out);
    let said = warnings(&out);
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(said[0].contains("without the cache"), "{}", said[0]);
}

/// The driver, unlike the shims, cannot work without its home: it says
/// which setting to change (issue 29: "Read-only file system" alone).
#[test]
fn an_unusable_home_is_named() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("file"), "").unwrap();
    let home = root.path().join("file/home");
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("src")).unwrap();
    std::fs::write(
        work.path().join("platformio.ini"),
        "[env:native]\nplatform = native\n",
    )
    .unwrap();
    std::fs::write(
        work.path().join("src/main.c"),
        "int main(void) { return 0; }\n",
    )
    .unwrap();
    for args in [
        vec!["build", work.path().to_str().unwrap()],
        vec!["daemon", "start"],
    ] {
        let out = clean_command(FBUILD)
            .args(&args)
            .env("FBUILD_HOME", &home)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("FBUILD_HOME {} cannot be used", home.display()))
                && err.contains("point FBUILD_HOME at a folder you can write"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_client_with_other_coordinator_settings_is_told_once() {
    let home = TestHome::new();
    home.start_with(&[("FBUILD_IDLE_SECS", "300")]);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("x.c"), "int x;\n").unwrap();
    let told = |out: &Output| {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("FBUILD_IDLE_SECS=120"))
            .count()
    };
    let env = [("FBUILD_IDLE_SECS", OsString::from("120"))];
    let first = shim_cc(&home, work.path(), &env);
    assert_ok(&first);
    assert_eq!(
        told(&first),
        1,
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("fbuild daemon stop"));
    let second = shim_cc(&home, work.path(), &env);
    assert_eq!(told(&second), 0, "said twice");
}

fn probes(home: &TestHome, what: &str) -> usize {
    std::fs::read_to_string(home.path().join("coordinator/coordinator.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("probe: {what}")))
        .count()
}

/// Every probe a wave of plan requests can trigger runs once per wave:
/// `make -j32` of 32 `-MMD -MP` compiles, twice, the second after the
/// coordinator forgot its zccache decision (as after the recheck window).
#[test]
fn a_wave_of_32_plans_runs_each_probe_once() {
    const N: usize = 32;
    let home = TestHome::new();
    let mirror = mirror_url();
    home.start_with(&[("FBUILD_LOG", "info"), ("FBUILD_ZCCACHE_URL", &mirror)]);
    let work = tempfile::tempdir().unwrap();
    let mut objs = String::new();
    for i in 0..N {
        std::fs::write(work.path().join(format!("w{i}.h")), "#define W 1\n").unwrap();
        std::fs::write(
            work.path().join(format!("w{i}.c")),
            format!("#include \"w{i}.h\"\nint w{i}(void) {{ return W; }}\n"),
        )
        .unwrap();
        objs.push_str(&format!(" w{i}.o"));
    }
    std::fs::write(
        work.path().join("Makefile"),
        format!("all:{objs}\n%.o: %.c\n\t$(CC) -MMD -MP -c $< -o $@\nclean:\n\trm -f *.o *.d\n"),
    )
    .unwrap();
    let cc = home.shims().join("cc").display().to_string();
    let env = [
        ("FBUILD_HOME", home.path().to_str().unwrap()),
        ("FBUILD_ZCCACHE_URL", mirror.as_str()),
    ];
    assert_ok(&common::project::make(
        work.path(),
        32,
        &[("CC", &cc)],
        &env,
    ));
    assert_eq!(probes(&home, "-MP style"), 1, "one compiler, one probe");
    // A daemon check: `zccache status`, or a ping of the known daemon.
    let checks = |home: &TestHome| probes(home, "zccache status") + probes(home, "zccache ping");
    let status_probes = checks(&home);

    let forgot = home
        .client()
        .request(
            &fbuild_core::protocol::Request::ZccacheFailed {
                reason: "test: a new wave".into(),
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(forgot.reply, fbuild_core::protocol::Reply::Noted);
    // The shims' remembered plans would spare the coordinator this wave.
    std::fs::remove_dir_all(home.path().join("coordinator/plans")).unwrap();
    make_clean(work.path());
    assert_ok(&common::project::make(
        work.path(),
        32,
        &[("CC", &cc)],
        &env,
    ));
    assert_eq!(
        checks(&home),
        status_probes + 1,
        "32 plans after the decision was forgotten: one daemon check"
    );
    assert_eq!(probes(&home, "-MP style"), 1);
}

/// Nothing of zccache's lands outside FBUILD_HOME: not its cache, not its
/// crash spool (zccache 1.15.8 writes `~/.zccache/…/crash-spool` on every
/// start, even for `--version`, unless told where).
#[test]
fn zccache_state_stays_under_fbuild_home() {
    let user_home = tempfile::tempdir().unwrap();
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("x.c"), "int x(void) { return 4; }\n").unwrap();
    let env = [("HOME", user_home.path().as_os_str().to_owned())];
    // The coordinator is started by this client, so it has this HOME too.
    assert_ok(&shim_cc(&home, work.path(), &env));
    assert_ok(&shim_cc(&home, work.path(), &env));
    assert_eq!(compilations(&home), 2);
    let stray: Vec<_> = std::fs::read_dir(user_home.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(stray.is_empty(), "written outside FBUILD_HOME: {stray:?}");
    assert!(home.path().join("tools/zccache-cache/crash-spool").is_dir());
}
