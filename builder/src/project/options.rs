//! Option values of an environment that are choices or groups:
//! `lib_ldf_mode`, the `test_*` options of `fbuild test`, the `monitor_*`
//! options of `fbuild monitor`.

/// How the library finder follows `#include`s (PlatformIO's
/// `lib_ldf_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LdfMode {
    /// Only `lib_deps` (and their dependencies) are built.
    Off,
    /// The project's sources, then each included header of a library and
    /// that library's sources of the same name, and what they include.
    #[default]
    Chain,
    /// The project's sources, then every source of each library found.
    Deep,
}

impl LdfMode {
    /// From an accepted `lib_ldf_mode` value (`+` modes as their base).
    pub(super) fn from_value(v: &str) -> LdfMode {
        match v {
            "off" => LdfMode::Off,
            "deep" | "deep+" => LdfMode::Deep,
            _ => LdfMode::Chain,
        }
    }
}

/// The `test_*` options (PlatformIO's names).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestConfig {
    /// `test_framework = custom`: a suite passes when its program exits 0
    /// (no Unity output expected).
    pub custom: bool,
    /// `test_filter`: suite names (globs) to run.
    pub filter: Vec<String>,
    /// `test_ignore`: suite names (globs) to skip.
    pub ignore: Vec<String>,
    /// `test_build_src = yes`: the project's `src/` is built into each
    /// suite (its `main` guarded by `#ifndef PIO_UNIT_TESTING`).
    pub build_src: bool,
    /// `test_speed`: the board's serial speed for test output.
    pub speed: Option<u32>,
    /// `test_port`: the board's serial port for test output.
    pub port: Option<String>,
}

/// The `monitor_*` options (PlatformIO's names; `monitor_speed` is the
/// environment's own).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorConfig {
    /// `monitor_port`: the port to watch (before `upload_port`).
    pub port: Option<String>,
    /// `monitor_filters`: names of the monitor's filters.
    pub filters: Vec<String>,
    /// `monitor_echo = yes`: show what is typed.
    pub echo: bool,
    /// `monitor_eol`: `CR`, `LF` or `CRLF`.
    pub eol: Option<String>,
}
