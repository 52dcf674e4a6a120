//! Value parsers shared by the commands' flags (clap calls them; a bad
//! value is a usage error, exit 2, naming the flag and the value), the
//! project folder every project command takes, and the exit code of a
//! build's outcome.

use std::path::PathBuf;
use std::time::Duration;

/// The project folder (with platformio.ini): positional, or `-d DIR` /
/// `--project-dir DIR` as PlatformIO spells it; `.` when neither.
#[derive(clap::Args, Clone, Default)]
pub struct ProjectDir {
    /// The project folder (with platformio.ini; default: the current one).
    #[arg(value_name = "PROJECT_DIR")]
    positional: Option<PathBuf>,
    /// The project folder, as PlatformIO spells it (instead of the
    /// positional one).
    #[arg(
        short = 'd',
        long = "project-dir",
        value_name = "DIR",
        conflicts_with = "positional"
    )]
    option: Option<PathBuf>,
}

impl ProjectDir {
    pub fn of(dir: PathBuf) -> Self {
        ProjectDir {
            positional: Some(dir),
            option: None,
        }
    }

    pub fn path(&self) -> PathBuf {
        let given = self.option.as_ref().or(self.positional.as_ref());
        given.cloned().unwrap_or_else(|| PathBuf::from("."))
    }
}

/// A timeout in seconds (`--timeout 30`, `0.5`): more than 0, at most
/// `fbuild_core::time::MAX_SECS`. `1e20`, `inf`, `nan`, `-1` and words
/// are refused (`Duration::from_secs_f64` would panic on some of them).
pub fn timeout_secs(text: &str) -> Result<Duration, String> {
    match fbuild_core::time::parse_secs(text).map_err(|e| e.to_string())? {
        d if d.is_zero() => Err(format!("{text:?} must be more than 0 seconds")),
        d => Ok(d),
    }
}

/// A failed tool's exit code as the process's (1–255), else success.
pub fn exit_code(failed: Option<i32>) -> std::process::ExitCode {
    match failed {
        Some(code) => std::process::ExitCode::from(code.clamp(1, 255) as u8),
        None => std::process::ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(timeout_secs("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "1e20", "inf", "nan", "-1", "abc"] {
            assert!(timeout_secs(bad).is_err(), "{bad}");
        }
    }
}
