//! The serial monitor: lines printed as they arrive, `--halt-on-success`
//! and `--halt-on-error` patterns, `--timeout`, Ctrl-C. One watcher serves
//! a serial port and the emulator alike: sources send byte chunks over a
//! channel from their own (blocking) reader thread. Chunks become lines
//! through [`Lines`] (which `fbuild test` uses too): each byte is looked at
//! once, and a line without end is kept only up to [`MAX_LINE`] (its
//! start and its end). What arrives is shown at once, through the
//! [`Display`]'s filters, a line's start before its end has come (a
//! prompt); patterns see whole lines. The port's writer is kept in a
//! [`PortWriter`] while the port is open, for what is typed (`keyboard`).
//!
//! Exit codes (DESIGN.md): 0 on a success match (or when the source ends),
//! 1 on an error match, 124 on timeout, 130 on Ctrl-C.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use fbuild_core::time::{
    BOARD_RETURN_WAIT, MONITOR_PAUSE_POLL, MONITOR_TICK, SERIAL_READ_TIMEOUT, SERIAL_REOPEN_POLL,
};
use regex::Regex;

use crate::filters::{Display, Filters};
use crate::keyboard::PortWriter;

/// An open port: its reader and its writer.
pub type OpenPort = (Box<dyn Read + Send>, Box<dyn Write + Send>);

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

/// Ends the watch as Ctrl-C does (the keyboard's Ctrl-C, read as a byte).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C ends a watch with [`Outcome::Interrupted`] instead of killing us
/// mid-line.
pub fn catch_ctrl_c() {
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
}

/// Watches `rx` until a rule decides, showing what arrives on `out` as it
/// is (no filters).
pub fn watch(rx: &Receiver<Chunk>, rules: &Rules, out: &mut dyn Write) -> Outcome {
    let (mut display, _) = Display::new(Filters::default(), std::path::Path::new("."))
        .unwrap_or_else(|_| unreachable!("no log without log2file"));
    watch_shown(rx, rules, out, &mut display)
}

/// The most of a line's start shown before its end comes: beyond it the
/// line waits for its end (a flood of one line stays bounded, see
/// [`Lines`]).
const SHOWN_EARLY: usize = 64 * 1024;

/// Watches `rx` until a rule decides; what arrives is shown on `out`
/// through `display` at once (a line's start before its end), each line
/// checked when it is complete; the end of a partial line is closed with a
/// newline when the watch ends.
pub fn watch_shown(
    rx: &Receiver<Chunk>,
    rules: &Rules,
    out: &mut dyn Write,
    display: &mut Display,
) -> Outcome {
    let start = Instant::now();
    let mut lines = Lines::default();
    // Bytes of the unfinished line already shown.
    let mut early = 0;
    let outcome = loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Outcome::Interrupted;
        }
        let wait = match rules.timeout {
            Some(t) if start.elapsed() >= t => break Outcome::Timeout,
            Some(t) => (t - start.elapsed()).min(MONITOR_TICK),
            None => MONITOR_TICK,
        };
        let data = match rx.recv_timeout(wait) {
            Ok(Chunk::Data(d)) => d,
            Ok(Chunk::End(Ok(()))) | Err(RecvTimeoutError::Disconnected) => break Outcome::Ended,
            Ok(Chunk::End(Err(why))) => break Outcome::SourceFailed(why),
            Err(RecvTimeoutError::Timeout) => continue,
        };
        let mut decided = None;
        lines.push(&data, &mut |line| {
            display.show(out, line.get(early..).unwrap_or_default());
            early = 0;
            decided = check_line(line, rules);
            decided.is_none()
        });
        if decided.is_none()
            && let Some(partial) = lines.partial().filter(|p| p.len() <= SHOWN_EARLY)
        {
            display.show(out, &partial[early.min(partial.len())..]);
            early = partial.len();
        }
        let flushed = out.flush();
        if let Some(decided) = decided {
            break decided;
        }
        // Whoever read the monitor is gone (`| grep -m1 ready`): done.
        if display.closed() || flushed.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
            break Outcome::Ended;
        }
    };
    if let Some(rest) = lines.rest() {
        display.show(out, rest.get(early..).unwrap_or_default());
        if !rest.ends_with(b"\n") {
            display.show(out, b"\n");
        }
    }
    let _ = out.flush();
    outcome
}

/// Checks one complete line.
fn check_line(line: &[u8], rules: &Rules) -> Option<Outcome> {
    let text = String::from_utf8_lossy(line);
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
    None
}

/// The most of one line kept (4 MiB): a source that never sends a newline
/// cannot fill the memory; the rest of the line is dropped and counted.
pub const MAX_LINE: usize = 4 << 20;

/// Splits a byte stream into lines, each with its `\n`. Only new bytes are
/// searched for a newline, so the work is linear in the output however it
/// is chunked; a line longer than [`MAX_LINE`] keeps its first and its last
/// `MAX_LINE / 2` bytes with a note between of how many were dropped (what
/// ends a flooded line, such as a Unity case, still reads as its end).
#[derive(Debug, Default)]
pub struct Lines {
    /// The start of the line so far (no newline yet), at most
    /// `MAX_LINE / 2` bytes.
    head: Vec<u8>,
    /// Its latest bytes after `head`, at most `MAX_LINE / 2`.
    tail: std::collections::VecDeque<u8>,
    /// Bytes between `head` and `tail` not kept.
    dropped: usize,
}

impl Lines {
    /// Feeds `bytes`, calling `on_line` per complete line while it returns
    /// true. Returns false when it stopped; the bytes after that line are
    /// kept as if not yet complete (see [`Lines::rest`]).
    pub fn push(&mut self, bytes: &[u8], on_line: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut start = 0;
        while let Some(at) = bytes[start..].iter().position(|b| *b == b'\n') {
            let line = &bytes[start..start + at + 1];
            start += at + 1;
            let go = if self.head.is_empty() && line.len() <= MAX_LINE {
                on_line(line)
            } else {
                self.keep(&line[..line.len() - 1]);
                let whole = self.take(true);
                on_line(&whole)
            };
            if !go {
                self.keep(&bytes[start..]);
                return false;
            }
        }
        self.keep(&bytes[start..]);
        true
    }

    /// The unfinished line so far, when none of it was dropped.
    pub fn partial(&self) -> Option<Vec<u8>> {
        (!self.head.is_empty() && self.dropped == 0).then(|| {
            let mut line = self.head.clone();
            line.extend(self.tail.iter());
            line
        })
    }

    /// What is left without a newline (at the end of the stream).
    pub fn rest(&mut self) -> Option<Vec<u8>> {
        (!self.head.is_empty()).then(|| self.take(false))
    }

    fn keep(&mut self, mut bytes: &[u8]) {
        const HALF: usize = MAX_LINE / 2;
        let room = HALF.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        bytes = &bytes[room..];
        if bytes.len() >= HALF {
            self.dropped += self.tail.len() + bytes.len() - HALF;
            self.tail.clear();
            bytes = &bytes[bytes.len() - HALF..];
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(HALF);
        self.tail.drain(..over);
        self.dropped += over;
    }

    fn take(&mut self, newline: bool) -> Vec<u8> {
        let mut line = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            let note = format!(" [fbuild: {} bytes of this line dropped] ", self.dropped);
            line.extend_from_slice(note.as_bytes());
            self.dropped = 0;
        }
        line.extend(self.tail.drain(..));
        if newline {
            line.push(b'\n');
        }
        line
    }
}

/// Reads a serial port that an upload may take away: while `paused` is
/// set the port is closed; when it clears the port is opened again (for up
/// to [`BOARD_RETURN_WAIT`], while the board re-enumerates). Ends only when the port fails
/// to come back or fails for another reason.
pub fn pump_pausable(
    open: impl Fn() -> Result<OpenPort, String>,
    paused: &AtomicBool,
    tx: &Sender<Chunk>,
    writer: &PortWriter,
) {
    let set_writer = |w: Option<Box<dyn Write + Send>>| {
        *writer.lock().unwrap_or_else(|p| p.into_inner()) = w;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = true;
    loop {
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(MONITOR_PAUSE_POLL);
        }
        let patience = if first {
            Duration::ZERO
        } else {
            BOARD_RETURN_WAIT
        };
        let deadline = Instant::now() + patience;
        let mut source = loop {
            match open() {
                Ok((reader, w)) => {
                    set_writer(Some(w));
                    break reader;
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(SERIAL_REOPEN_POLL),
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
                    set_writer(None);
                    return drop(tx.send(Chunk::End(Ok(()))));
                }
                Err(e) => {
                    set_writer(None);
                    return drop(tx.send(Chunk::End(Err(e.to_string()))));
                }
            }
        }
        // Paused: the upload gets the port whole.
        set_writer(None);
    }
}

/// Opens a serial device for reading at `baud`. serialport first; a pty
/// (whose modem-line ioctls fail) falls back to a plain open in raw mode.
pub fn open_serial(path: &str, baud: u32) -> Result<Box<dyn Read + Send>, crate::DeployError> {
    open_port(path, baud).map(|(reader, _)| reader)
}

/// Opens a serial device at `baud` for reading and for writing (one open:
/// a port opened exclusively cannot be opened twice).
pub fn open_port(path: &str, baud: u32) -> Result<OpenPort, crate::DeployError> {
    let cloned = |e: std::io::Error| crate::DeployError::Serial {
        what: "cannot open",
        port: path.to_string(),
        why: e.to_string(),
    };
    match serialport::new(path, baud)
        .timeout(SERIAL_READ_TIMEOUT)
        .open()
    {
        Ok(port) => {
            let writer = port.try_clone().map_err(|e| cloned(e.into()))?;
            Ok((Box::new(port), Box::new(writer)))
        }
        Err(serial_err) => match crate::termios::open_raw(path, baud) {
            Ok(file) => {
                let writer = file.try_clone().map_err(cloned)?;
                Ok((Box::new(file), Box::new(writer)))
            }
            Err(raw_err) => Err({
                let raw = if raw_err.is_empty() {
                    String::new()
                } else {
                    format!(" ({raw_err})")
                };
                crate::DeployError::Serial {
                    what: "cannot open",
                    port: path.to_string(),
                    why: format!("{serial_err}{raw}; {}", crate::termios::OPEN_HINT),
                }
            }),
        },
    }
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

    #[test]
    fn lines_across_chunks_and_a_line_too_long_to_keep() {
        let mut lines = Lines::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut each = |l: &[u8]| {
            got.push(l.to_vec());
            true
        };
        // 20 MB without a newline, in 4 KB chunks, then two short lines.
        let chunk = vec![b'x'; 4096];
        for _ in 0..5 * 1024 {
            assert!(lines.push(&chunk, &mut each));
        }
        assert!(lines.push(b"y\r\nsecond\nthi", &mut each));
        assert!(lines.push(b"rd\n", &mut each));
        assert_eq!(lines.rest(), None);
        assert_eq!(got.len(), 3);
        let dropped = 20 * 1024 * 1024 + 2 - MAX_LINE;
        let note = format!(" [fbuild: {dropped} bytes of this line dropped] ");
        let half = MAX_LINE / 2;
        assert_eq!(got[0].len(), MAX_LINE + note.len() + 1);
        assert!(got[0][..half].iter().all(|b| *b == b'x'));
        assert_eq!(&got[0][half..half + note.len()], note.as_bytes());
        assert!(got[0].ends_with(b"xxy\r\n"));
        assert_eq!(
            (&got[1][..], &got[2][..]),
            (&b"second\n"[..], &b"third\n"[..])
        );
    }

    #[test]
    fn a_decision_keeps_the_rest_of_the_chunk() {
        let mut lines = Lines::default();
        let mut seen = 0;
        assert!(!lines.push(b"a\nb\nc", &mut |_| {
            seen += 1;
            false
        }));
        assert_eq!(seen, 1);
        assert_eq!(lines.rest().as_deref(), Some(&b"b\nc"[..]));
    }
}
