//! Running a built suite and feeding its output, line by line, to the
//! Unity parser: the host program itself (`native`), the board's emulator
//! (simavr, qemu: as `fbuild deploy --emulator`), or a board on a serial
//! port (flashed with the core's upload recipe unless told to only read).
//! A program or emulator is read until its output ends and then waited
//! for, all within the timeout, so its exit code counts (simavr exits 0 when
//! the firmware stops at its end, see `unity_output_arduino.cpp`); a board
//! cannot exit, so its run ends at Unity's final `OK`/`FAIL`. A crash or a
//! hang is the suite's failure, with the reason.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use fbuild_core::time::{EXIT_POLL_FIRST, EXIT_POLL_MAX};
use fbuild_core::tool::{Tool, group};
use fbuild_deploy::emulator::read_simavr;
use fbuild_deploy::monitor::{Chunk, Lines, open_serial};
use fbuild_deploy::recipe::{UploadOptions, emulator_plan, upload_plan};
use fbuild_deploy::upload;
use fbuild_platforms::arduino::Properties;

/// How a run ended (the lines went to the callback as they came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The output ended and the program (or the emulator) exited with
    /// this code.
    Exited(i32),
    /// A board's output reached Unity's `OK`/`FAIL` (`done()`).
    Summary,
    /// It died of a signal.
    Crashed(String),
    /// It had not ended when the timeout passed (and was killed).
    TimedOut(Duration),
    /// It ended (how: "exited (0)"), but what it started kept its output
    /// open past the timeout (all of it killed).
    Lingered(String, Duration),
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
        /// Where its output is read (`test_port`; else `port`).
        read_port: String,
        speed: u32,
        /// Flash it first, with the environment's upload options.
        upload: Option<UploadOptions<'a>>,
    },
}

/// Where a child's output comes from.
#[derive(Clone, Copy)]
enum Source {
    Stdout,
    /// simavr's stderr, whose UART lines are the firmware's output.
    SimavrStderr,
}

/// Runs `target`, calling `on_line` per output line, until it ends, or
/// for a board until `done()` says Unity's summary was seen, or until
/// `timeout` passes.
pub fn run(
    target: Target,
    cwd: &Path,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> End {
    match target {
        Target::Native(program) => {
            let cmd = Tool::new(program).current_dir(cwd).command();
            let cannot = |e| format!("running {}: {e}", program.display());
            child(cmd, Source::Stdout, &cannot, timeout, on_line)
        }
        Target::Emulator(props) => emulator(props, timeout, on_line),
        Target::Board {
            props,
            port,
            read_port,
            speed,
            upload,
        } => board(
            props,
            [&port, &read_port],
            speed,
            upload.as_ref(),
            timeout,
            on_line,
            done,
        ),
    }
}

/// The board's emulator (`fbuild deploy --emulator`'s), run to its end.
fn emulator(props: &Properties, timeout: Duration, on_line: &mut dyn FnMut(&str)) -> End {
    let plan = match emulator_plan(props) {
        Ok(p) => p,
        Err(e) => return End::Broken(e.to_string()),
    };
    let cmd = Tool::new(&plan.program).args(&plan.args).command();
    let source = match plan.output.as_str() {
        "simavr" => Source::SimavrStderr,
        _ => Source::Stdout,
    };
    let package = if plan.tool == "qemu" {
        "qemu-system-arm"
    } else {
        &plan.tool
    };
    let cannot = |e| {
        let program = plan.program.display();
        format!("cannot run {program} ({e}); on Debian: apt-get install {package}")
    };
    child(cmd, source, &cannot, timeout, on_line)
}

/// Runs `cmd` to its end: its output until it closes, then its exit,
/// both before the deadline; killed if it is not over by then.
fn child(
    mut cmd: Command,
    source: Source,
    cannot: &dyn Fn(std::io::Error) -> String,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
) -> End {
    cmd.stdin(Stdio::null());
    match source {
        Source::Stdout => cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()),
        Source::SimavrStderr => cmd.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let deadline = Instant::now() + timeout;
    group::own_group(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return End::Broken(cannot(e)),
    };
    let (tx, rx) = mpsc::channel();
    match source {
        Source::Stdout => {
            let stdout = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || read_into(stdout, &tx));
        }
        Source::SimavrStderr => {
            let stderr = child.stderr.take().expect("piped stderr");
            std::thread::spawn(move || read_simavr(stderr, &tx));
        }
    }
    let status = match pump(&rx, deadline, on_line, &|| false) {
        Pumped::TimedOut => None,
        Pumped::Done | Pumped::Ended(_) => wait_until(&mut child, deadline),
    };
    let status = match status {
        Some(Ok(status)) => status,
        other => {
            // The program, and whatever it started (seen: a child that
            // kept the output open outlived fbuild and held its caller's
            // pipe).
            let exited = child.try_wait().ok().flatten();
            group::kill_group(&mut child);
            return match (other, exited) {
                (Some(Err(e)), _) => End::Broken(e.to_string()),
                (_, Some(status)) => End::Lingered(how_it_ended(&status), timeout),
                _ => End::TimedOut(timeout),
            };
        }
    };
    // What it started and left behind, its output closed, goes with it.
    group::kill_rest(&child);
    match (status.code(), signal_of(&status)) {
        (_, Some(sig)) => End::Crashed(format!("killed by signal {sig} ({})", signal_name(sig))),
        (Some(code), _) => End::Exited(code),
        (None, None) => End::Broken(format!("it ended without an exit code ({status})")),
    }
}

/// "exited (3)" or "was killed by signal 11 (SIGSEGV: …)".
fn how_it_ended(status: &ExitStatus) -> String {
    match (status.code(), signal_of(status)) {
        (_, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
        (Some(code), _) => format!("exited ({code})"),
        (None, None) => format!("ended ({status})"),
    }
}

/// The child's exit status, unless it is still running at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::io::Result<ExitStatus>> {
    // Its output has ended, so it is (almost always) exiting already.
    let mut nap = EXIT_POLL_FIRST;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(Ok(status)),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(nap.min(left));
        nap = (nap * 2).min(EXIT_POLL_MAX);
    }
}

#[allow(clippy::too_many_arguments)]
fn board(
    props: &Properties,
    [port, read_port]: [&str; 2],
    speed: u32,
    flash: Option<&UploadOptions>,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> End {
    if let Some(options) = flash {
        let plan = match upload_plan(props, port, options) {
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
            Err(e) => return End::Broken(e.to_string()),
        }
    }
    let reader = match open_serial(read_port, speed) {
        Ok(r) => r,
        Err(e) => return End::Broken(e.to_string()),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_into(reader, &tx));
    match pump(&rx, Instant::now() + timeout, on_line, done) {
        Pumped::Done => End::Summary,
        Pumped::Ended(Ok(())) => End::Exited(0),
        Pumped::Ended(Err(e)) => End::Broken(format!("the serial port: {e}")),
        Pumped::TimedOut => End::TimedOut(timeout),
    }
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

/// How the output stopped.
#[derive(Debug, PartialEq, Eq)]
enum Pumped {
    /// `done()` said so.
    Done,
    /// The source ended (`Ok`) or failed.
    Ended(Result<(), String>),
    TimedOut,
}

/// Splits chunks into lines for `on_line` until done, the end, or the
/// deadline.
fn pump(
    rx: &Receiver<Chunk>,
    deadline: Instant,
    on_line: &mut dyn FnMut(&str),
    done: &dyn Fn() -> bool,
) -> Pumped {
    let mut lines = Lines::default();
    let mut each = |line: &[u8]| {
        on_line(&String::from_utf8_lossy(line));
        !done()
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let result = match rx.recv_timeout(left) {
            Ok(Chunk::Data(bytes)) => {
                if !lines.push(&bytes, &mut each) {
                    return Pumped::Done;
                }
                continue;
            }
            Ok(Chunk::End(result)) => result,
            Err(RecvTimeoutError::Disconnected) => Ok(()),
            Err(RecvTimeoutError::Timeout) => return Pumped::TimedOut,
        };
        if let Some(rest) = lines.rest()
            && !each(&rest)
        {
            return Pumped::Done;
        }
        return Pumped::Ended(result);
    }
}

#[cfg(unix)]
fn signal_of(status: &ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal_of(_status: &ExitStatus) -> Option<i32> {
    None
}

#[cfg(unix)]
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

#[cfg(not(unix))]
fn signal_name(_sig: i32) -> &'static str {
    "a signal"
}

#[cfg(test)]
mod tests {
    use super::*;
    use fbuild_deploy::monitor::MAX_LINE;

    #[test]
    fn twenty_megabytes_without_a_newline_are_split_in_one_pass() {
        let (tx, rx) = mpsc::channel();
        // As read_into sends them: 4 KB chunks, 20 MB before the first
        // newline. Rescanning what is pending on every chunk took ~43 s.
        let chunk = vec![b'x'; 4096];
        for _ in 0..5 * 1024 {
            tx.send(Chunk::Data(chunk.clone())).unwrap();
        }
        tx.send(Chunk::Data(
            b"\r\n2 Tests 0 Failures 0 Ignored\nOK".to_vec(),
        ))
        .unwrap();
        tx.send(Chunk::End(Ok(()))).unwrap();
        let mut lines: Vec<String> = Vec::new();
        let far = Instant::now() + Duration::from_secs(3600);
        let end = pump(&rx, far, &mut |l| lines.push(l.to_string()), &|| false);
        assert_eq!(end, Pumped::Ended(Ok(())));
        assert_eq!(lines.len(), 3);
        let (dropped, half) = (20 * 1024 * 1024 + 1 - MAX_LINE, MAX_LINE / 2);
        let note = format!(" [fbuild: {dropped} bytes of this line dropped] ");
        assert_eq!(&lines[0][half..half + note.len()], note);
        assert!(lines[0][..half].bytes().all(|b| b == b'x'));
        assert!(lines[0].ends_with("xx\r\n"));
        assert_eq!(&lines[1..], ["2 Tests 0 Failures 0 Ignored\n", "OK"]);
    }

    #[test]
    fn done_stops_at_that_line_even_without_a_newline() {
        let (tx, rx) = mpsc::channel();
        tx.send(Chunk::Data(b"a\nOK\nafter\n".to_vec())).unwrap();
        let far = Instant::now() + Duration::from_secs(3600);
        let seen = std::cell::RefCell::new(Vec::new());
        let end = pump(
            &rx,
            far,
            &mut |l| seen.borrow_mut().push(l.to_string()),
            &|| seen.borrow().last().is_some_and(|l| l == "OK\n"),
        );
        assert_eq!((end, seen.borrow().len()), (Pumped::Done, 2));
        tx.send(Chunk::Data(b"OK".to_vec())).unwrap();
        tx.send(Chunk::End(Ok(()))).unwrap();
        seen.borrow_mut().clear();
        let end = pump(
            &rx,
            far,
            &mut |l| seen.borrow_mut().push(l.to_string()),
            &|| seen.borrow().last().is_some_and(|l| l == "OK"),
        );
        assert_eq!(end, Pumped::Done);
    }

    fn sh(script: &str, timeout: Duration) -> (End, Vec<String>) {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        let mut lines = Vec::new();
        let cannot = |e| format!("{e}");
        let end = child(cmd, Source::Stdout, &cannot, timeout, &mut |l| {
            lines.push(l.to_string())
        });
        (end, lines)
    }

    #[test]
    fn a_program_is_read_to_its_end_and_its_exit_code_kept() {
        let long = Duration::from_secs(3600);
        let (end, lines) = sh("echo OK; echo after; exit 3", long);
        assert_eq!(
            (end, lines),
            (End::Exited(3), vec!["OK\n".into(), "after\n".into()])
        );
        let (end, _) = sh("echo OK; kill -SEGV $$", long);
        assert!(
            matches!(end, End::Crashed(ref why) if why.contains("SIGSEGV")),
            "{end:?}"
        );
    }

    #[test]
    fn a_program_that_closes_its_output_but_keeps_running_is_killed_at_the_deadline() {
        let (end, lines) = sh(
            "echo OK; exec >&-; exec sleep 600",
            Duration::from_millis(300),
        );
        assert_eq!(
            (end, lines),
            (
                End::TimedOut(Duration::from_millis(300)),
                vec!["OK\n".into()]
            )
        );
        let (end, _) = sh("echo OK; exec sleep 600", Duration::from_millis(300));
        assert_eq!(end, End::TimedOut(Duration::from_millis(300)));
    }
}
