//! Running a built suite and feeding its output, line by line, to the
//! Unity parser: the host program itself (`native`), the board's emulator
//! (simavr, qemu: as `fbuild deploy --emulator`), or a board on a serial
//! port (flashed with the core's upload recipe unless told to only read).
//! Each run ends at Unity's final `OK`/`FAIL`, at the program's exit, or at
//! the timeout; a crash or a hang is the suite's failure, with the reason.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use fbuild_deploy::monitor::{Chunk, open_serial};
use fbuild_deploy::recipe::{emulator_plan, upload_plan};
use fbuild_deploy::{emulator, upload};
use fbuild_platforms::arduino::Properties;

/// How a run ended (the lines went to the callback as they came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Unity's summary arrived (the program may still be running).
    Summary,
    /// The program exited with this code before (or without) a summary.
    Exited(i32),
    /// It died of a signal.
    Crashed(String),
    /// Nothing ended it within the timeout.
    TimedOut(Duration),
    /// It could not be started or read.
    Broken(String),
}

/// Where a suite runs.
pub enum Target<'a> {
    Native(&'a Path),
    Emulator(&'a Properties),
    Board {
        props: &'a Properties,
        port: String,
        speed: u32,
        upload: bool,
    },
}

/// Runs `target`, calling `on_line` per output line until `done()` says
/// the summary was seen, the output ends, or `timeout` passes.
pub fn run(
    target: Target,
    cwd: &Path,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> End {
    match target {
        Target::Native(program) => native(program, cwd, timeout, on_line, done),
        Target::Emulator(props) => {
            let plan = match emulator_plan(props) {
                Ok(p) => p,
                Err(e) => return End::Broken(e.to_string()),
            };
            let (tx, rx) = mpsc::channel();
            let _sim = match emulator::start(&plan, tx) {
                Ok(sim) => sim,
                Err(e) => return End::Broken(e),
            };
            pump(&rx, timeout, on_line, done, "the emulator")
        }
        Target::Board {
            props,
            port,
            speed,
            upload,
        } => board(props, &port, speed, upload, timeout, on_line, done),
    }
}

fn native(
    program: &Path,
    cwd: &Path,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> End {
    let mut child = match Command::new(program)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return End::Broken(format!("running {}: {e}", program.display())),
    };
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || read_into(stdout, &tx));
    let end = pump(&rx, timeout, on_line, done, "the program");
    if let End::TimedOut(_) = end {
        let _ = child.kill();
        let _ = child.wait();
        return end;
    }
    match child.wait() {
        Ok(status) => match (status.code(), signal_of(&status)) {
            (_, Some(sig)) => {
                End::Crashed(format!("killed by signal {sig} ({})", signal_name(sig)))
            }
            (Some(code), _) if end != End::Summary => End::Exited(code),
            _ => End::Summary,
        },
        Err(e) => End::Broken(e.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
fn board(
    props: &Properties,
    port: &str,
    speed: u32,
    flash: bool,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> End {
    if flash {
        let plan = match upload_plan(props, port, None) {
            Ok(p) => p,
            Err(e) => return End::Broken(e.to_string()),
        };
        eprintln!(
            "fbuild: uploading to {port} with {} ({} at {} baud)",
            plan.tool, plan.protocol, plan.speed
        );
        match upload::run(&plan, port) {
            Ok((0, _)) => {}
            Ok((code, hint)) => {
                return End::Broken(format!(
                    "{} failed (exit {code}){}",
                    plan.tool,
                    hint.map(|h| format!(": {h}")).unwrap_or_default()
                ));
            }
            Err(e) => return End::Broken(e),
        }
    }
    let reader = match open_serial(port, speed) {
        Ok(r) => r,
        Err(e) => return End::Broken(e),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_into(reader, &tx));
    pump(&rx, timeout, on_line, done, "the serial port")
}

/// Sends whatever `r` yields as chunks, then the end.
fn read_into(mut r: impl Read, tx: &Sender<Chunk>) {
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = tx.send(Chunk::End(Ok(())));
}

/// Splits chunks into lines for `on_line` until done, the end, or the
/// timeout.
fn pump(
    rx: &Receiver<Chunk>,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
    what: &str,
) -> End {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Chunk::Data(bytes)) => {
                pending.extend_from_slice(&bytes);
                while let Some(at) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=at).collect();
                    on_line(&String::from_utf8_lossy(&line));
                    if done() {
                        return End::Summary;
                    }
                }
            }
            Ok(Chunk::End(result)) => {
                if !pending.is_empty() {
                    on_line(&String::from_utf8_lossy(&pending));
                }
                if done() {
                    return End::Summary;
                }
                return match result {
                    Ok(()) => End::Exited(0),
                    Err(e) => End::Broken(format!("{what}: {e}")),
                };
            }
            Err(RecvTimeoutError::Timeout) => return End::TimedOut(timeout),
            Err(RecvTimeoutError::Disconnected) => return End::Exited(0),
        }
    }
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal_of(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV: a bad memory access",
        libc::SIGABRT => "SIGABRT: abort() or a failed assert()",
        libc::SIGFPE => "SIGFPE: an arithmetic error such as division by zero",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        _ => "a signal",
    }
}
