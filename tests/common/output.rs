//! What a command said: its results (stdout) and its diagnostics
//! (stderr) together, in the order written, and figures read from them.

use std::process::{Command, Output};

/// All a command said: its results (stdout: the size report, each
/// environment's outcome) and then its progress and diagnostics (stderr).
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` with stdout and stderr into one file, as a terminal shows
/// them (each write in the order made); returns its exit code and text.
pub fn interleaved(cmd: &mut Command) -> (Option<i32>, String) {
    let file = tempfile::tempfile().unwrap();
    let status = cmd
        .stdout(file.try_clone().unwrap())
        .stderr(file.try_clone().unwrap())
        .status()
        .expect("run the command");
    let mut text = String::new();
    let mut file = file;
    use std::io::{Read, Seek};
    file.rewind().unwrap();
    file.read_to_string(&mut text).unwrap();
    (status.code(), text)
}

/// Bytes `used` on the `label` line (`Flash:`, `RAM:`) of a size report.
pub fn size_used(stderr: &str, label: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in:\n{stderr}"));
    line.split("used ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no size in {line:?}"))
}
