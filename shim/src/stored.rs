//! Links and archives from fbuild's link store (`fbuild_core::link_store`),
//! when they do not go through zccache (its link cache restores files it
//! should not: see the store's text). A hit copies the outputs back and
//! prints what the tool printed; a miss runs the real tool, its output held
//! back until it exits, and keeps the outputs of a success whose inputs
//! did not change while it ran.

use std::io::Read;
use std::path::Path;

use fbuild_core::link_store::{self, Replay, Step};
use fbuild_core::tool::{Tool, exec as tool_exec};

/// One link or archive: the store at `store`, the real tool, its
/// arguments as run.
pub struct Stored<'a> {
    pub store: &'a Path,
    pub step: Step<'a>,
    pub marker: &'a (&'a str, String),
}

/// The exit code of the step, from the store or the real tool; `None`
/// when the step cannot be stored or the tool cannot be started (the
/// caller runs it as usual).
pub fn run(s: &Stored) -> Option<i32> {
    let planned = link_store::plan(&s.step)?;
    if let Some(replay) = link_store::restore(s.store, &planned) {
        replay.write();
        return Some(0);
    }
    let tool = Tool::new(s.step.tool)
        .args(s.step.args)
        .env(s.marker.0, &s.marker.1);
    let (code, replay) = held(tool.command(), None)?;
    let code = code.unwrap_or(1);
    replay.write();
    if code == 0 {
        link_store::keep_if_unchanged(s.store, &s.step, &planned, &replay);
    }
    Some(code)
}

/// Runs `command` with `stdin` given (else the shim's own) and its stdout
/// and stderr held until it exits: its exit code (`None` when it could
/// not be told) and output; `None` when it cannot be started. Signals
/// are passed on to it.
pub(crate) fn held(
    mut command: std::process::Command,
    stdin: Option<&[u8]>,
) -> Option<(Option<i32>, Replay)> {
    command
        .stdin(match stdin {
            Some(_) => std::process::Stdio::piped(),
            None => std::process::Stdio::inherit(),
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = tool_exec::spawn(&mut command).ok()?;
    tool_exec::forward_signals_to(&child);
    let feeder = stdin
        .map(<[u8]>::to_vec)
        .zip(child.stdin.take())
        .map(|(bytes, mut pipe)| {
            // A tool that stops reading (an error early) closes the pipe.
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut pipe, &bytes);
            })
        });
    let mut stdout_pipe = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut out);
        out
    });
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_end(&mut stderr);
    }
    let stdout = reader.join().unwrap_or_default();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let code = tool_exec::wait_code(&mut child).ok();
    Some((code, Replay { stdout, stderr }))
}
