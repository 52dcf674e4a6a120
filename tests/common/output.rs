//! What a command said: its results (stdout) and its diagnostics
//! (stderr) together, in the order written, figures read from them, and
//! its output read by another program (Python's json module); the first
//! compile a build recorded.

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

/// `script` run by Python with `stdin` on its stdin (a command's output
/// read by Python's own parsers); its stdout, trimmed.
pub fn python_reads(script: &str, stdin: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    super::assert_ok(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The arguments of the first compile in `env`'s `compile_commands.json`
/// (under the project `dir`'s build folder).
pub fn first_compile(dir: &std::path::Path, env: &str) -> Vec<String> {
    let file = dir
        .join(".fbuild/build")
        .join(env)
        .join("compile_commands.json");
    let db: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    db[0]["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}
