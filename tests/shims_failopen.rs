//! The shims never break a build: notices while the first build waits for
//! the zccache install, one warning when fbuild's machinery is out, no
//! recursion, a clear error for a loop; and the AVR toolchain mapping.

mod common;

use std::path::Path;

use common::http::TestServer;
use common::project::{self, make};
use common::*;

/// A project of `n` independent C files and a Makefile.
fn many_files(dir: &Path, n: usize) {
    let mut objs = String::new();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("f{i}.c")),
            format!("int f{i}(void) {{ return {i}; }}\n"),
        )
        .unwrap();
        objs.push_str(&format!(" f{i}.o"));
    }
    std::fs::write(
        dir.join("Makefile"),
        format!("all:{objs}\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\n"),
    )
    .unwrap();
}

fn stderr_lines<'a>(out: &'a std::process::Output, needle: &str) -> Vec<&'a str> {
    std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .collect()
}

#[test]
fn first_build_waits_for_the_install_with_notices_and_one_download() {
    let home = TestHome::new();
    let shims = home.shims();
    let server = TestServer::serve(zccache_mirror());
    server.set_rate(1_000_000); // the 12 MB archive takes ~12 s
    let work = tempfile::tempdir().unwrap();
    many_files(work.path(), 16);
    let cc = shims.join("cc").display().to_string();
    let home_dir = home.path().display().to_string();
    let url = server.url();
    let started = std::time::Instant::now();
    let out = make(
        work.path(),
        16,
        &[("CC", &cc)],
        &[
            ("FBUILD_HOME", &home_dir),
            ("FBUILD_ZCCACHE_URL", &url),
            ("FBUILD_NOTICE_SECS", "3"),
        ],
    );
    let took = started.elapsed().as_secs_f64();
    assert_ok(&out);
    for i in 0..16 {
        assert!(work.path().join(format!("f{i}.o")).is_file());
    }
    assert_eq!(server.gets(&format!("/{}", zccache_asset())), 1);
    // 16 shims wait; one speaks for the build, in whole lines.
    let text = String::from_utf8_lossy(&out.stderr);
    for line in text.lines().filter(|l| l.contains("waits for")) {
        assert!(
            line.starts_with("fbuild: cc waits for zccache 1.15.8") && line.ends_with(" s)"),
            "a broken notice line: {line:?}\n{text}"
        );
        assert_eq!(line.matches("fbuild:").count(), 1, "interleaved: {line:?}");
    }
    let notices = stderr_lines(&out, "fbuild: cc waits for zccache 1.15.8");
    let mut seconds: Vec<&str> = notices
        .iter()
        .filter_map(|n| n.rsplit_once('(').map(|(_, s)| s))
        .collect();
    let total = seconds.len();
    seconds.dedup();
    assert_eq!(
        seconds.len(),
        total,
        "two shims spoke at once:\n{}",
        notices.join("\n")
    );
    // The first after 1 s, then one per 3 s of the wait (at least the
    // 12 s of the download; longer on a loaded machine).
    assert!(
        notices.len() >= 3 && notices.len() as f64 <= took / 3.0 + 2.0,
        "{} notices in {took:.1} s at 3 s:\n{}",
        notices.len(),
        notices.join("\n")
    );
    // First after ~1 s, then every 3 s: "(1 s)" and "(4 s)" both appear.
    assert!(notices.iter().any(|n| n.ends_with("(1 s)")), "{notices:#?}");
    assert!(notices.iter().any(|n| n.ends_with("(4 s)")), "{notices:#?}");
    assert!(
        notices.iter().any(|n| n.contains("downloading")),
        "{notices:#?}"
    );
    // All 16 compiles went through zccache once it was there.
    assert_eq!(home.zccache_stats()["total_compilations"], 16);
}

#[test]
fn unreachable_mirror_builds_with_one_warning() {
    let home = TestHome::new();
    let shims = home.shims();
    let work = tempfile::tempdir().unwrap();
    many_files(work.path(), 6);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cc = shims.join("cc").display().to_string();
    let home_dir = home.path().display().to_string();
    let out = make(
        work.path(),
        4,
        &[("CC", &cc)],
        &[
            ("FBUILD_HOME", &home_dir),
            ("FBUILD_ZCCACHE_URL", &url),
            ("PATH", "/usr/bin:/bin"),
        ],
    );
    assert_ok(&out);
    let warnings = stderr_lines(&out, "fbuild: warning");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("without a cache"), "{}", warnings[0]);
}

#[test]
fn missing_coordinator_builds_with_one_warning() {
    let home = TestHome::new();
    // A shim binary alone: no fbuild-coordinator beside it or on PATH.
    let lonely = tempfile::tempdir().unwrap();
    let shim = lonely.path().join("fbuild-shim");
    std::fs::copy(Path::new(FBUILD).with_file_name("fbuild-shim"), &shim).unwrap();
    let shims = lonely.path().join("shims");
    std::fs::create_dir(&shims).unwrap();
    std::os::unix::fs::symlink(&shim, shims.join("cc")).unwrap();
    let work = tempfile::tempdir().unwrap();
    many_files(work.path(), 6);
    let cc = shims.join("cc").display().to_string();
    let home_dir = home.path().display().to_string();
    let out = make(
        work.path(),
        4,
        &[("CC", &cc)],
        &[("FBUILD_HOME", &home_dir), ("PATH", "/usr/bin:/bin")],
    );
    assert_ok(&out);
    let warnings = stderr_lines(&out, "fbuild: warning");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("fbuild-coordinator"),
        "{}",
        warnings[0]
    );
    assert!(home.coordinator_pids().is_empty());
}

#[test]
fn shim_dir_first_on_path_does_not_recurse_and_a_loop_is_an_error() {
    let home = TestHome::new();
    let shims = home.shims();
    let work = tempfile::tempdir().unwrap();
    project::write(work.path());
    let path = format!("{}:/usr/bin:/bin", shims.display());
    let home_dir = home.path().display().to_string();
    let url = mirror_url();
    let env = [
        ("FBUILD_HOME", home_dir.as_str()),
        ("FBUILD_ZCCACHE_URL", &url),
        ("PATH", &path),
    ];
    // CC=cc finds the shim first on PATH; the shim must find /usr/bin/cc.
    let out = make(
        work.path(),
        2,
        &[("CC", "cc"), ("CXX", "c++"), ("AR", "ar")],
        &env,
    );
    assert_ok(&out);
    assert!(home.zccache_stats()["total_compilations"].as_u64().unwrap() >= 8);
    // zccache's daemon must not see the shims on its PATH (it would run them
    // with its own environment, outside this FBUILD_HOME).
    for pid in zccache_daemon_pids(home.path()) {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let path = environ
            .split(|b| *b == 0)
            .find_map(|v| v.strip_prefix(b"PATH="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        assert!(
            !path.split(':').any(|d| Path::new(d) == shims),
            "daemon PATH {path}"
        );
    }

    // Only the shim dir on PATH: no real cc anywhere.
    std::fs::write(work.path().join("x.c"), "int x;\n").unwrap();
    let run = |path: &str, extra: &[(&str, &str)]| {
        clean_command(shims.join("cc"))
            .args(["-c", "x.c", "-o", "x.o"])
            .current_dir(work.path())
            .env("FBUILD_HOME", home.path())
            .env("FBUILD_ZCCACHE_URL", &url)
            .env("PATH", path)
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    let out = run(&shims.display().to_string(), &[]);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no real `cc` on PATH"), "{err}");

    // A wrapper that calls back into the shims: a real loop, cut by depth.
    let wrap = tempfile::tempdir().unwrap();
    let script = wrap.path().join("cc");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec {} \"$@\"\n", shims.join("cc").display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(&format!("{}:/usr/bin:/bin", wrap.path().display()), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("went through fbuild's shims 8 times"), "{err}");
}

#[test]
fn atmelavr_platform_compiles_with_avr_gcc_through_zccache() {
    let home = TestHome::new();
    let shims = home.shims();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("blink.c"),
        "#include <avr/io.h>\nint main(void) { DDRB |= _BV(PB5); for (;;) PORTB ^= _BV(PB5); }\n",
    )
    .unwrap();
    for round in 0..2 {
        let _ = std::fs::remove_file(work.path().join("blink.o"));
        let out = clean_command(shims.join("cc"))
            .args(["-mmcu=atmega328p", "-Os", "-c", "blink.c", "-o", "blink.o"])
            .current_dir(work.path())
            .env("FBUILD_HOME", home.path())
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .env("FBUILD_PLATFORM", "atmelavr")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let obj = std::fs::read(work.path().join("blink.o")).unwrap();
        // ELF e_machine 83 = EM_AVR.
        assert_eq!(&obj[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 83);
    }
    let stats = home.zccache_stats();
    assert_eq!(stats["total_compilations"], 2, "{stats}");
    assert_eq!(stats["cache_hits"], 1, "{stats}");
}
