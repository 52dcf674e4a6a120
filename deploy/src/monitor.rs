//! The serial monitor: lines printed as they arrive, `--halt-on-success`
//! and `--halt-on-error` patterns, `--timeout`, Ctrl-C. One watcher serves
//! a serial port and the emulator alike: sources send byte chunks over a
//! channel from their own (blocking) reader thread.
//!
//! Exit codes (DESIGN.md): 0 on a success match (or when the source ends),
//! 1 on an error match, 124 on timeout, 130 on Ctrl-C.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use regex::Regex;

/// What a source sends: bytes, or why it stopped (`Ok(())`: it ended).
pub enum Chunk {
    Data(Vec<u8>),
    End(Result<(), String>),
}

#[derive(Debug, Default)]
pub struct Rules {
    pub success: Option<Regex>,
    pub error: Option<Regex>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    ErrorMatch(String),
    Timeout,
    Ended,
    SourceFailed(String),
    Interrupted,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success | Outcome::Ended => 0,
            Outcome::ErrorMatch(_) | Outcome::SourceFailed(_) => 1,
            Outcome::Timeout => 124,
            Outcome::Interrupted => 130,
        }
    }
}

/// Set by SIGINT (see [`catch_ctrl_c`]).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C ends a watch with [`Outcome::Interrupted`] instead of killing us
/// mid-line.
pub fn catch_ctrl_c() {
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
}

/// Watches `rx` until a rule decides; complete lines are written to `out`
/// as they arrive, a partial line when the watch ends.
pub fn watch(rx: &Receiver<Chunk>, rules: &Rules, out: &mut dyn Write) -> Outcome {
    let start = Instant::now();
    let mut pending: Vec<u8> = Vec::new();
    let outcome = loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Outcome::Interrupted;
        }
        let wait = match rules.timeout {
            Some(t) if start.elapsed() >= t => break Outcome::Timeout,
            Some(t) => (t - start.elapsed()).min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        let data = match rx.recv_timeout(wait) {
            Ok(Chunk::Data(d)) => d,
            Ok(Chunk::End(Ok(()))) | Err(RecvTimeoutError::Disconnected) => break Outcome::Ended,
            Ok(Chunk::End(Err(why))) => break Outcome::SourceFailed(why),
            Err(RecvTimeoutError::Timeout) => continue,
        };
        pending.extend_from_slice(&data);
        if let Some(decided) = drain_lines(&mut pending, rules, out) {
            break decided;
        }
    };
    if !pending.is_empty() {
        let _ = out.write_all(&pending);
        if !pending.ends_with(b"\n") {
            let _ = out.write_all(b"\n");
        }
    }
    let _ = out.flush();
    outcome
}

/// Writes and checks every complete line in `pending`.
fn drain_lines(pending: &mut Vec<u8>, rules: &Rules, out: &mut dyn Write) -> Option<Outcome> {
    while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = pending.drain(..=nl).collect();
        let _ = out.write_all(&line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some(re) = &rules.error
            && re.is_match(text)
        {
            return Some(Outcome::ErrorMatch(text.to_string()));
        }
        if let Some(re) = &rules.success
            && re.is_match(text)
        {
            return Some(Outcome::Success);
        }
    }
    let _ = out.flush();
    None
}

/// Reads a serial port that an upload may take away: while `paused` is
/// set the port is closed; when it clears the port is opened again (for up
/// to 10 s, while the board re-enumerates). Ends only when the port fails
/// to come back or fails for another reason.
pub fn pump_pausable(
    open: impl Fn() -> Result<Box<dyn Read + Send>, String>,
    paused: &AtomicBool,
    tx: &Sender<Chunk>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = true;
    loop {
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let deadline = Instant::now() + Duration::from_secs(if first { 0 } else { 10 });
        let mut source = loop {
            match open() {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(why) => return drop(tx.send(Chunk::End(Err(why)))),
            }
        };
        first = false;
        while !paused.load(Ordering::SeqCst) {
            match source.read(&mut buf) {
                // A raw tty read with VTIME returns 0 when nothing came.
                Ok(0) => {}
                Ok(n) => {
                    if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                            | std::io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    return drop(tx.send(Chunk::End(Ok(()))));
                }
                Err(e) => return drop(tx.send(Chunk::End(Err(e.to_string())))),
            }
        }
    }
}

/// Opens a serial device for reading at `baud`. serialport first; a pty
/// (whose modem-line ioctls fail) falls back to a plain open in raw mode.
pub fn open_serial(path: &str, baud: u32) -> Result<Box<dyn Read + Send>, String> {
    match serialport::new(path, baud).timeout(Duration::from_millis(200)).open() {
        Ok(port) => Ok(Box::new(port)),
        Err(serial_err) => open_raw(path, baud).map_err(|raw_err| {
            format!("cannot open {path}: {serial_err} ({raw_err}); check the port, and that you are in the `dialout` group")
        }),
    }
}

fn open_raw(path: &str, baud: u32) -> Result<Box<dyn Read + Send>, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    crate::termios::configure(file.as_raw_fd(), baud)?;
    Ok(Box::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: Vec<&[u8]>, rules: Rules) -> (Outcome, String) {
        let (tx, rx) = std::sync::mpsc::channel();
        for c in chunks {
            tx.send(Chunk::Data(c.to_vec())).unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        let outcome = watch(&rx, &rules, &mut out);
        (outcome, String::from_utf8(out).unwrap())
    }

    #[test]
    fn halts_and_flushes() {
        let rules = Rules {
            success: Some(Regex::new("hello from uno").unwrap()),
            error: Some(Regex::new("PANIC").unwrap()),
            timeout: None,
        };
        let (o, out) = run(vec![b"boot\r\nhel", b"lo from uno\r\nafter\n"], rules);
        assert_eq!(o, Outcome::Success);
        assert_eq!(out, "boot\r\nhello from uno\r\nafter\n");
        let rules = Rules {
            success: Some(Regex::new("ok").unwrap()),
            error: Some(Regex::new("PANIC").unwrap()),
            timeout: None,
        };
        let (o, _) = run(vec![b"PANIC: ok\n"], rules);
        assert_eq!(o.exit_code(), 1, "an error match wins");
        let (o, out) = run(vec![b"partial"], Rules::default());
        assert_eq!((o, out.as_str()), (Outcome::Ended, "partial\n"));
    }
}
