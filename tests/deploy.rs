//! `fbuild deploy` and `fbuild monitor`: the emulator with halt rules and
//! timeouts, a full flash of simduino (simavr's Uno with a bootloader) with
//! avrdude over its pty, a missing port, `upload_flags` and `upload_protocol`
//! (a programmer of the core), and the monitor on a pty pair (its input and
//! filters: `tests/monitor.rs`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pty::pty_pair;
use common::simduino::Simduino;
use common::*;

fn deploy(
    home: &TestHome,
    dir: &std::path::Path,
    extra: &[&str],
) -> (std::process::Output, Duration) {
    let mut args = vec!["deploy", dir.to_str().unwrap(), "-e", "uno"];
    args.extend_from_slice(extra);
    let t = Instant::now();
    let out = home
        .fbuild(&args)
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .output()
        .unwrap();
    (out, t.elapsed())
}

#[test]
fn emulator_success_timeout_and_error_patterns() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    let (out, _) = deploy(
        &home,
        dir.path(),
        &["--emulator", "--halt-on-success", "hello from uno"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from uno\n"));

    let (out, took) = deploy(
        &home,
        dir.path(),
        &[
            "--emulator",
            "--skip-build",
            "--halt-on-success",
            "never printed",
            "--timeout",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(124));
    // ~3.2 s: stopped by the timeout (without one it runs on forever);
    // the upper bound leaves a loaded machine 10 times that.
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(35),
        "{took:?}"
    );

    let (out, _) = deploy(
        &home,
        dir.path(),
        &["--emulator", "--skip-build", "--halt-on-error", "hello"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error pattern matched"));
}

#[test]
fn missing_port_fails_fast_with_avrdudes_code() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    let (out, took) = deploy(&home, dir.path(), &["--port", "/dev/does-not-exist"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/dev/does-not-exist does not exist"), "{err}");
    // The build is included; the upload itself fails in milliseconds.
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn flash_simduino_over_its_pty_and_read_it_back() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    {
        let _sim = Simduino::start();
        let (out, _) = deploy(&home, dir.path(), &["--port", "/tmp/simavr-uart0"]);
        assert_ok(&out);
        // The core's recipe runs avrdude quietly (`-q -q`, as the IDE
        // does); what was flashed is proven by reading the sketch back.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("with avrdude (arduino at 115200 baud)"),
            "{err}"
        );
        let mon = home
            .fbuild(&[
                "monitor",
                "--port",
                "/tmp/simavr-uart0",
                "--halt-on-success",
                "hello from uno",
                "--timeout",
                "30",
            ])
            .output()
            .unwrap();
        assert_eq!(
            mon.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&mon.stderr)
        );
        assert!(String::from_utf8_lossy(&mon.stdout).contains("hello from uno"));
    }
    // Both in one (deploy --monitor), on a fresh simduino: a pty has no DTR
    // line to reset the running sketch into the bootloader.
    let _sim = Simduino::start();
    let (out, _) = deploy(
        &home,
        dir.path(),
        &[
            "--skip-build",
            "--port",
            "/tmp/simavr-uart0",
            "--monitor",
            "--halt-on-success",
            "hello from uno",
            "--timeout",
            "30",
        ],
    );
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from uno"));
}

#[test]
fn monitor_on_a_pty_keeps_order_flushes_partial_lines_and_loses_nothing() {
    let home = TestHome::new();
    let (master, slave) = pty_pair();
    let mut child = home
        .fbuild(&[
            "monitor",
            "--port",
            &slave,
            "--baud",
            "115200",
            "--timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains("monitoring"), "{first}");
    let mut stdout = child.stdout.take().unwrap();
    let (chunks, arrived) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if chunks.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut expected = Vec::new();
    let mut line_no = 0;
    while expected.len() < 1024 * 1024 {
        expected.extend_from_slice(format!("line {line_no:07} {}\n", "x".repeat(40)).as_bytes());
        line_no += 1;
    }
    expected.extend_from_slice(b"partial line without newline");
    let mut writer = std::fs::File::from(master);
    writer.write_all(&expected).unwrap();
    writer.flush().unwrap();
    // The event: every complete line has come out of the monitor.
    let complete = expected.len() - b"partial line without newline".len();
    let mut got = Vec::new();
    while got.len() < complete {
        match arrived.recv_timeout(Duration::from_secs(30)) {
            Ok(chunk) => got.extend_from_slice(&chunk),
            Err(e) => panic!("{} of {complete} bytes arrived: {e}", got.len()),
        }
    }
    // Ending the monitor (as Ctrl-C would) flushes the partial line.
    kill(child.id(), libc::SIGINT);
    let status = child.wait().unwrap();
    got.extend(arrived.iter().flatten());
    drop(writer);
    assert_eq!(status.code(), Some(130));
    let mut want = expected.clone();
    want.push(b'\n');
    assert_eq!(got.len(), want.len(), "lost or added bytes");
    assert!(got == want, "lines out of order or changed");
}

/// Whether `pid` has `path` open.
fn has_open(pid: u32, path: &str) -> bool {
    let target = std::fs::canonicalize(path).unwrap();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == target))
        })
        .unwrap_or(false)
}

#[test]
fn an_upload_claim_pauses_the_monitor_and_it_reconnects() {
    let home = TestHome::new();
    home.start();
    let (master, slave) = pty_pair();
    let child = home
        .fbuild(&[
            "monitor",
            "--port",
            &slave,
            "--timeout",
            "60",
            "--halt-on-success",
            "after the upload",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(
        wait_for(Duration::from_secs(10), || has_open(pid, &slave)),
        "monitor never opened the port"
    );
    let client = home.client();
    let claimed = client
        .request(
            &fbuild_core::protocol::Request::ClaimPort {
                port: slave.clone(),
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        claimed.reply,
        fbuild_core::protocol::Reply::PortClaimed { paused: 1 }
    );
    assert!(
        wait_for(Duration::from_secs(5), || !has_open(pid, &slave)),
        "paused monitor still holds the port"
    );
    client
        .request(
            &fbuild_core::protocol::Request::ReleasePort {
                port: slave.clone(),
            },
            &mut |_| {},
        )
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || has_open(pid, &slave)),
        "monitor did not reconnect"
    );
    let mut writer = std::fs::File::from(master);
    writer.write_all(b"after the upload\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("monitor paused") && err.contains("reconnecting"),
        "{err}"
    );
}

#[test]
fn upload_flags_reach_the_tool_and_upload_protocol_picks_a_programmer() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    let ini = std::fs::read_to_string(dir.path().join("platformio.ini")).unwrap();
    let with = |lines: &str| {
        let text = ini.replace("[env:uno]\n", &format!("[env:uno]\n{lines}"));
        std::fs::write(dir.path().join("platformio.ini"), text).unwrap();
    };
    // `/dev/null` is a port avrdude opens and refuses at once (no board
    // here: the tool's own words show what it was asked to do).
    let log = dir.path().join("avrdude.log");
    with(&format!("upload_flags = -l {}\n", log.display()));
    let (out, _) = deploy(&home, dir.path(), &["--port", "/dev/null"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("with avrdude (arduino at 115200 baud)"),
        "{err}"
    );
    // `-l FILE` sent avrdude's diagnostics to the file.
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("programmer arduino on port /dev/null"),
        "{logged}"
    );

    // A programmer by its protocol (the core's `avrisp`): its pattern, the
    // port given.
    with("upload_protocol = stk500v1\n");
    let (out, _) = deploy(&home, dir.path(), &["--port", "/dev/null", "--skip-build"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("with avrdude (stk500v1)"), "{err}");
    assert!(
        err.contains("programmer stk500v1 on port /dev/null"),
        "{err}"
    );
    // A deploy with a PLATFORMIO_* variable set.
    let with_var = |name: &str, value: &str| {
        let args = [
            "deploy",
            dir.path().to_str().unwrap(),
            "-e",
            "uno",
            "--skip-build",
        ];
        home.fbuild(&args).env(name, value).output().unwrap()
    };
    // PLATFORMIO_UPLOAD_PORT is the upload port when none is given.
    let out = with_var("PLATFORMIO_UPLOAD_PORT", "/dev/null");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("programmer stk500v1 on port /dev/null"),
        "{err}"
    );
    // A USB programmer needs no port: avrdude looks for the USBasp itself.
    with("upload_protocol = usbasp\n");
    let (out, _) = deploy(&home, dir.path(), &["--skip-build"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("with avrdude (usbasp)"), "{err}");
    let said = err
        .lines()
        .find(|l| l.starts_with("fbuild: uploading"))
        .unwrap();
    assert!(
        !said.contains(" to "),
        "a USB programmer has no port: {said}"
    );
    assert!(err.contains("USBasp"), "{err}");
    // PLATFORMIO_UPLOAD_FLAGS adds to upload_flags.
    let log2 = dir.path().join("env.log");
    let out = with_var("PLATFORMIO_UPLOAD_FLAGS", &format!("-l {}", log2.display()));
    assert_eq!(out.status.code(), Some(1));
    let logged = std::fs::read_to_string(&log2).unwrap_or_default();
    assert!(logged.contains("usbasp"), "{logged}");
    // Neither the board's protocol nor a programmer: named, with the ones
    // there are.
    with("upload_protocol = usbaps\n");
    let (out, _) = deploy(&home, dir.path(), &["--skip-build"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("upload_protocol: \"usbaps\"")
            && err.contains("(arduino)")
            && err.contains("usbasp"),
        "{err}"
    );
}
