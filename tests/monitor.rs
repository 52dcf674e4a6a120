//! `fbuild monitor` as a terminal user drives it, on a pty pair standing
//! in for the board: typed bytes reach the port with the environment's end
//! of line, the `time` filter stamps the board's lines, a prompt shows
//! before its end, Ctrl-C typed ends it; input piped before the port opens
//! is kept; it ends when nobody reads it; a `-d` that is no project is
//! refused.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pty::pty_pair;
use common::*;

/// Reads `fd` on a thread; its bytes come on the channel.
fn reader(fd: std::fs::File) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut fd = fd;
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut fd, &mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects from `rx` until `until` holds of all so far (30 s at most).
fn collect(
    rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    got: &mut Vec<u8>,
    until: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !until(&String::from_utf8_lossy(got)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => got.extend_from_slice(&chunk),
            Err(e) => panic!("{e}; so far: {:?}", String::from_utf8_lossy(got)),
        }
    }
}

#[test]
fn the_monitor_sends_what_is_typed_and_applies_its_filters() {
    let home = TestHome::new();
    let (master, slave) = pty_pair();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platformio.ini"),
        format!(
            "[env:uno]\nplatform = atmelavr\nboard = uno\nupload_port = /dev/fbuild-no-such-port\n\
             monitor_port = {slave}\nmonitor_speed = 115200\nmonitor_filters = time, log2file\n\
             monitor_eol = LF\nmonitor_echo = yes\n"
        ),
    )
    .unwrap();
    let mut child = home
        // PlatformIO's spelling: `device monitor -d DIR -e ENV`.
        .fbuild(&[
            "device",
            "monitor",
            "-d",
            dir.path().to_str().unwrap(),
            "-e",
            "uno",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(
        first.contains(&format!("monitoring {slave} at 115200 baud")),
        "{first}"
    );
    let board = std::fs::File::from(master);
    let from_board = reader(board.try_clone().unwrap());
    let shown = reader(std::fs::File::from(std::os::fd::OwnedFd::from(
        child.stdout.take().unwrap(),
    )));
    let mut keyboard = child.stdin.take().unwrap();

    // Typed: to the board with the env's end of line (LF), echoed.
    keyboard.write_all(b"ping 42\n").unwrap();
    let mut sent = Vec::new();
    collect(&from_board, &mut sent, |s| s.contains('\n'));
    assert_eq!(sent, b"ping 42\n");
    // From the board: each line stamped (`time`); a line's start shown
    // before its end (a prompt).
    let mut board_w = board;
    board_w.write_all(b"pong 42\r\nready> ").unwrap();
    let mut out = Vec::new();
    collect(&shown, &mut out, |s| s.contains("ready> "));
    let out_text = String::from_utf8_lossy(&out).into_owned();
    let stamped = regex::Regex::new(r"(?m)^\d\d:\d\d:\d\d\.\d{3} > pong 42\r$").unwrap();
    assert!(stamped.is_match(&out_text), "{out_text:?}");
    assert!(out_text.contains("ping 42"), "echo: {out_text:?}");
    assert!(
        regex::Regex::new(r"\d{3} > ready> $")
            .unwrap()
            .is_match(&out_text),
        "{out_text:?}"
    );
    // Ctrl-C typed ends it as Ctrl-C does.
    keyboard.write_all(b"\x03").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    // log2file: what the board said, in a log in the project's folder.
    let logs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let logged = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(logged.contains("pong 42"), "{logged:?}");
}

#[test]
fn the_monitor_keeps_early_input_and_ends_when_nobody_reads() {
    let home = TestHome::new();
    let (master, slave) = pty_pair();
    let mut child = home
        .fbuild(&["monitor", "-p", &slave, "--timeout", "60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Piped before the port is open: it waits for the port, not lost.
    child.stdin.take().unwrap().write_all(b"early\n").unwrap();
    let board = std::fs::File::from(master);
    let from_board = reader(board.try_clone().unwrap());
    let mut sent = Vec::new();
    collect(&from_board, &mut sent, |s| s.contains('\n'));
    assert_eq!(sent, b"early\r\n");
    // Whoever read the monitor has gone (`| grep -m1`): it ends.
    drop(child.stdout.take());
    let mut board_w = board;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the monitor runs on, unread");
        let _ = board_w.write_all(b"still talking\n");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // A folder named that is no project: said, not ignored.
    let out = home
        .fbuild(&["monitor", "-d", "/nonexistent-project", "-p", &slave])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no platformio.ini"));
}
