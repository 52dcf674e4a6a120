//! Running a tool to its end: output captured with a time limit, quietly
//! (a daemon's start), or watched by the caller and stopped with its
//! process group (a `git clone`); and how such a run failed.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::Tool;
use super::group;
use crate::time::{OUTPUT_DRAIN_WAIT, WAIT_POLL, WATCH_EVERY};

/// How running a tool failed (not how the tool itself failed: a compile
/// error is an `Ok` output with its exit status).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run {program}: {source}")]
    Start {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not finish within {limit:?}")]
    TimedOut { program: String, limit: Duration },
    #[error("waiting for {program}: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} exited with {status}")]
    Failed { program: String, status: ExitStatus },
}

/// Runs `tool` with stdin closed and output captured; kills it after
/// `limit`.
pub fn output(tool: &Tool, limit: Duration) -> Result<Output, RunError> {
    let program = tool.name();
    let mut child = spawn(tool.command(), &program, Stdio::piped)?;
    let drained = Drained::of(&mut child);
    let status = wait_with_limit(&mut child, &program, limit)?;
    Ok(drained.output(status))
}

/// Runs `tool` with stdin closed and output captured, asking `check` every
/// [`WATCH_EVERY`] (told how many bytes of output came so far) whether to
/// go on: its `Err` stops the command — the whole process group it started
/// (git runs helpers such as `git-remote-http`), which also dies with this
/// process (Linux) — and is returned. Seen: a stalled `git clone` outlived
/// its build and even `fbuild daemon stop`.
pub fn output_watched<E>(
    tool: &Tool,
    mut check: impl FnMut(u64) -> Result<(), E>,
) -> Result<Result<Output, RunError>, E> {
    let program = tool.name();
    let mut cmd = tool.command();
    group::own_group(&mut cmd);
    let mut child = match spawn(cmd, &program, Stdio::piped) {
        Ok(child) => child,
        Err(e) => return Ok(Err(e)),
    };
    let drained = Drained::of(&mut child);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Ok(Err(RunError::Wait { program, source })),
        }
        if let Err(stop) = check(drained.seen.load(Ordering::Relaxed)) {
            group::kill_group(&mut child);
            return Err(stop);
        }
        std::thread::sleep(WATCH_EVERY);
    };
    Ok(Ok(drained.output(status)))
}

/// Runs `tool` with stdio on the null device (a daemon it starts must not
/// inherit pipes of ours); kills it after `limit`. Err unless it exits 0.
pub fn quiet(tool: &Tool, limit: Duration) -> Result<(), RunError> {
    let program = tool.name();
    let mut child = spawn(tool.command(), &program, Stdio::null)?;
    match wait_with_limit(&mut child, &program, limit)? {
        status if status.success() => Ok(()),
        status => Err(RunError::Failed { program, status }),
    }
}

fn wait_with_limit(
    child: &mut Child,
    program: &str,
    limit: Duration,
) -> Result<ExitStatus, RunError> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut {
                    program: program.to_string(),
                    limit,
                });
            }
            Ok(None) => std::thread::sleep(WAIT_POLL),
            Err(source) => {
                return Err(RunError::Wait {
                    program: program.to_string(),
                    source,
                });
            }
        }
    }
}

/// `cmd` started with stdin closed and both outputs as `output` says.
fn spawn(mut cmd: Command, program: &str, output: fn() -> Stdio) -> Result<Child, RunError> {
    cmd.stdin(Stdio::null()).stdout(output()).stderr(output());
    super::exec::spawn(&mut cmd).map_err(|source| RunError::Start {
        program: program.to_string(),
        source,
    })
}

/// A child's two output pipes, drained on threads so that a chatty child
/// cannot block on a full pipe while it is waited for; `seen` counts the
/// bytes so far. Hazard: a daemon the child starts may inherit the pipes
/// and keep them open for its whole life, so after the child exits the
/// readers are waited for only briefly ([`OUTPUT_DRAIN_WAIT`]).
struct Drained {
    seen: Arc<AtomicU64>,
    out: Receiver<Vec<u8>>,
    err: Receiver<Vec<u8>>,
}

impl Drained {
    fn of(child: &mut Child) -> Drained {
        let seen = Arc::new(AtomicU64::new(0));
        Drained {
            out: drain(child.stdout.take().expect("piped stdout"), &seen),
            err: drain(child.stderr.take().expect("piped stderr"), &seen),
            seen,
        }
    }

    fn output(self, status: ExitStatus) -> Output {
        let collect =
            |rx: Receiver<Vec<u8>>| rx.recv_timeout(OUTPUT_DRAIN_WAIT).unwrap_or_default();
        Output {
            status,
            stdout: collect(self.out),
            stderr: collect(self.err),
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static, seen: &Arc<AtomicU64>) -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let seen = Arc::clone(seen);
    std::thread::spawn(move || {
        let (mut all, mut buf) = (Vec::new(), [0u8; 8192]);
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            seen.fetch_add(n as u64, Ordering::Relaxed);
        }
        let _ = tx.send(all);
    });
    rx
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_tool_past_its_limit_is_stopped_and_named() {
        let err = output(&Tool::new("sleep").arg("5"), Duration::ZERO).unwrap_err();
        assert!(matches!(err, RunError::TimedOut { .. }), "{err}");
        assert!(err.to_string().starts_with("sleep did not finish"), "{err}");
    }

    #[test]
    fn output_and_failures_are_told_apart() {
        let out = output(
            &Tool::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            crate::time::HEALTH_CHECK_TIMEOUT,
        )
        .unwrap();
        assert_eq!(
            (out.stdout, out.stderr),
            (b"out\n".to_vec(), b"err\n".to_vec())
        );
        assert_eq!(out.status.code(), Some(3));
        let missing = Tool::new("/nonexistent/tool");
        let err = quiet(&missing, crate::time::HEALTH_CHECK_TIMEOUT).unwrap_err();
        assert!(matches!(err, RunError::Start { .. }), "{err}");
        let failed = quiet(&Tool::new("false"), crate::time::HEALTH_CHECK_TIMEOUT).unwrap_err();
        assert!(matches!(failed, RunError::Failed { .. }), "{failed}");
    }
}
