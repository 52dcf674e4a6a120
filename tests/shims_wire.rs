//! The shims send compiles straight to zccache's daemon over its wire (no
//! zccache client process): what the compiler prints and returns comes back
//! as it was, 64 concurrent hits are served, a stopped daemon is probed and
//! replaced, and a zccache that speaks another wire (1.14.0, a real release
//! from PyPI) is used through its own client.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn shim(home: &TestHome, dir: &Path, tool: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    clean_command(home.path().join("shims").join(tool))
        .args(args)
        .current_dir(dir)
        .env("FBUILD_HOME", home.path())
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn gcc(dir: &Path, tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn compiles_take_the_direct_wire_and_relay_what_the_compiler_says() {
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(
        dir.join("warn.c"),
        "int f(void) { int unused; return 1; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("p.cpp"),
        "#include <cstdio>\nint main() { std::puts(\"pp\"); }\n",
    )
    .unwrap();
    let warn = ["-Wall", "-c", "warn.c", "-o", "warn.o"];
    // zccache installed and its daemon up (the first call prints notices).
    assert_ok(&shim(&home, dir, "cc", &["--version"], &[]));
    let first = shim(&home, dir, "cc", &warn, &[]);
    let plain = gcc(dir, "cc", &["-Wall", "-c", "warn.c", "-o", "plain.o"]);
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&plain.stderr).replace("plain.o", "warn.o")
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("unused"));
    let status = home.status_json();
    assert_eq!(status["zccache"]["wire"], 26, "{status}");
    assert!(
        status["zccache"]["compiles"]
            .as_str()
            .unwrap()
            .starts_with("direct"),
        "{status}"
    );
    // A hit replays the warning too.
    let before = home.zccache_stats()["cache_hits"].as_u64().unwrap();
    let hit = shim(&home, dir, "cc", &warn, &[]);
    assert_eq!(hit.stderr, first.stderr);
    assert_eq!(
        home.zccache_stats()["cache_hits"].as_u64().unwrap(),
        before + 1
    );
    assert_eq!(
        std::fs::read(dir.join("warn.o")).unwrap(),
        std::fs::read(dir.join("plain.o")).unwrap()
    );
    // stdout of the compiler (preprocessing to stdout) and C++.
    let pre = shim(&home, dir, "c++", &["-E", "p.cpp"], &[]);
    assert_eq!(pre.stdout, gcc(dir, "c++", &["-E", "p.cpp"]).stdout);
    assert_ok(&shim(&home, dir, "c++", &["p.cpp", "-o", "pp"], &[]));
    let run = Command::new(dir.join("pp")).output().unwrap();
    assert_eq!(run.stdout, b"pp\n");
    // The same compiles through zccache's client, for comparison, still work.
    let client = shim(&home, dir, "cc", &warn, &[("FBUILD_ZCCACHE_WIRE", "off")]);
    assert_eq!(client.status.code(), Some(0));
}

#[test]
fn sixty_four_concurrent_hits() {
    const N: usize = 64;
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    for i in 0..N {
        std::fs::write(
            dir.join(format!("h{i}.c")),
            format!("int h{i}(int x) {{ return x * {i}; }}\n"),
        )
        .unwrap();
    }
    let compile_all = || {
        all_succeed_at_once((0..N).map(|i| {
            let mut cmd = home.shim("cc", dir);
            cmd.args(["-O2", "-c", &format!("h{i}.c"), "-o", &format!("h{i}.o")]);
            cmd
        }));
    };
    compile_all();
    let objects = |dir: &Path| -> Vec<Vec<u8>> {
        (0..N)
            .map(|i| std::fs::read(dir.join(format!("h{i}.o"))).unwrap())
            .collect()
    };
    let first = objects(dir);
    for i in 0..N {
        std::fs::remove_file(dir.join(format!("h{i}.o"))).unwrap();
    }
    let before = home.zccache_stats()["cache_hits"].as_u64().unwrap();
    compile_all();
    let hits = home.zccache_stats()["cache_hits"].as_u64().unwrap() - before;
    assert_eq!(hits, N as u64, "64 concurrent compiles of cached objects");
    assert_eq!(objects(dir), first);
    for i in [0, N - 1] {
        let plain = gcc(
            dir,
            "cc",
            &["-O2", "-c", &format!("h{i}.c"), "-o", "plain.o"],
        );
        assert_ok(&plain);
        assert_eq!(std::fs::read(dir.join("plain.o")).unwrap(), first[i]);
    }
}

/// A daemon that takes compiles but never answers (SIGSTOP): the shim
/// waits out the silence budget, probes, finds it wedged, compiles without
/// the cache (one warning) and tells the coordinator, which replaces the
/// daemon; the next compiles are cached again.
#[test]
fn a_stopped_daemon_is_probed_then_replaced() {
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("s.c"), "int s(void) { return 5; }\n").unwrap();
    assert_ok(&shim(&home, dir, "cc", &["-c", "s.c", "-o", "s.o"], &[]));
    let stopped = zccache_daemon_pids(home.path());
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    kill(stopped[0], libc::SIGSTOP);
    std::fs::write(dir.join("t.c"), "int t(void) { return 6; }\n").unwrap();
    let silence = [("FBUILD_ZCCACHE_SILENCE_SECS", "0.5")];
    let out = shim(&home, dir, "cc", &["-c", "t.c", "-o", "t.o"], &silence);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wedged"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("t.o")).unwrap(),
        std::fs::read({
            assert_ok(&gcc(dir, "cc", &["-c", "t.c", "-o", "plain.o"]));
            dir.join("plain.o")
        })
        .unwrap()
    );
    // The next compile asks the coordinator, which replaces the daemon.
    std::fs::write(dir.join("u.c"), "int u(void) { return 7; }\n").unwrap();
    let next = shim(&home, dir, "cc", &["-c", "u.c", "-o", "u.o"], &silence);
    assert_ok(&next);
    wait_until("the stopped daemon to be replaced", || !alive(stopped[0]));
    let now = zccache_daemon_pids(home.path());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], stopped[0]);
    assert_eq!(home.status_json()["zccache"]["wire"], 26);
}

/// zccache 1.14.0 speaks wire version 24: the coordinator's probe says so,
/// and compiles go through that zccache's own client, cached.
#[test]
fn a_zccache_of_another_wire_is_used_through_its_client() {
    let old = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zccache-mirror-1.14.0");
    assert_ok(
        &Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/mirror-zccache"
        ))
        .arg(&old)
        .arg("1.14.0")
        .output()
        .unwrap(),
    );
    let url = format!("file://{}", old.display());
    let env = [
        ("FBUILD_ZCCACHE_URL", url.as_str()),
        ("FBUILD_ZCCACHE_VERSION", "1.14.0"),
    ];
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("o.c"), "int o(void) { return 8; }\n").unwrap();
    let args = ["-c", "o.c", "-o", "o.o"];
    assert_ok(&shim(&home, dir, "cc", &["--version"], &env));
    let first = shim(&home, dir, "cc", &args, &env);
    assert_ok(&first);
    assert!(
        first.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let status = home.status_json();
    assert_eq!(status["zccache"]["version"], "1.14.0", "{status}");
    assert_eq!(
        status["zccache"]["wire"],
        serde_json::Value::Null,
        "{status}"
    );
    let compiles = status["zccache"]["compiles"].as_str().unwrap();
    assert!(
        compiles.contains("through zccache's client") && compiles.contains("wire version 24"),
        "{compiles}"
    );
    std::fs::remove_file(dir.join("o.o")).unwrap();
    assert_ok(&shim(&home, dir, "cc", &args, &env));
    assert_ok(&gcc(dir, "cc", &["-c", "o.c", "-o", "plain.o"]));
    assert_eq!(
        std::fs::read(dir.join("o.o")).unwrap(),
        std::fs::read(dir.join("plain.o")).unwrap()
    );
    assert!(
        !home.path().join("coordinator/plans").exists(),
        "a client-path plan was remembered"
    );
}
