//! Part of the protocol (re-exported by the `protocol` module): how a
//! shim asks how to run a tool and the plan it gets, and how a build asks
//! for a platform's checked toolchain and the answer.

use std::ffi::OsString;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a shim asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// The name the shim was invoked as (`cc`, `c++`, `avr-gcc`, …).
    pub tool: String,
    /// `FBUILD_PLATFORM` (`native` when unset).
    pub platform: String,
    #[serde(with = "crate::wire_os")]
    pub cwd: PathBuf,
    /// The caller's PATH, searched for the real tool.
    #[serde(with = "crate::wire_os")]
    pub path: OsString,
    /// The shim binary (skipped when searching PATH).
    #[serde(with = "crate::wire_os")]
    pub shim_exe: PathBuf,
    /// The command carries `-MP`: the plan says how the compiler writes
    /// phony targets, so the shim can add them itself.
    pub wants_phony_style: bool,
    /// The shim's stderr is a terminal: colours wanted on a cache hit too
    /// (see [`Plan::color_flag`]).
    #[serde(default)]
    pub wants_color: bool,
}

/// What `fbuild build` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainRequest {
    /// `atmelavr`, `native`.
    pub platform: String,
    /// The board's MCU (`atmega328p`); empty for `native`.
    pub mcu: String,
    /// Framework (`arduino`) whose core is needed, if any.
    pub framework: Option<String>,
    /// The caller's PATH, searched for a system toolchain.
    #[serde(with = "crate::wire_os")]
    pub path: OsString,
    /// The tools the board's properties name (cc, c++, ar, objcopy, size:
    /// `compiler.*.cmd`), for the host, whose compiler a board menu picks;
    /// empty: the platform's data. Ignored for a platform with a managed
    /// toolchain (its names are its data's).
    #[serde(default)]
    pub tools: Vec<String>,
}

/// A checked toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    #[serde(with = "crate::wire_os")]
    pub cc: PathBuf,
    #[serde(with = "crate::wire_os")]
    pub cxx: PathBuf,
    #[serde(with = "crate::wire_os")]
    pub ar: PathBuf,
    #[serde(with = "crate::wire_os::opt", default)]
    pub objcopy: Option<PathBuf>,
    #[serde(with = "crate::wire_os::opt", default)]
    pub size: Option<PathBuf>,
    /// The framework core (`…/hardware/arduino/avr`), when one was asked for.
    #[serde(with = "crate::wire_os::opt", default)]
    pub core_dir: Option<PathBuf>,
    /// `system` or `managed`, and why.
    pub source: String,
    /// C++ needs `-DDECIMAL_DIG=__DECIMAL_DIG__` (avr-gcc 5.4's float.h
    /// hides it in C++11 mode and the Arduino core's WString.cpp uses it).
    pub cxx_needs_decimal_dig: bool,
    /// The C compiler's library folders, as [`Plan::link_dirs`].
    #[serde(with = "crate::wire_os::opt", default)]
    pub link_dirs: Option<OsString>,
    /// The flag that makes the C/C++ compiler colour its diagnostics into
    /// a pipe (see [`Plan::color_flag`]); `None`: it takes none.
    #[serde(default)]
    pub color_flag: Option<String>,
}

/// How to run the tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Absolute path of the real tool.
    #[serde(with = "crate::wire_os")]
    pub real: PathBuf,
    /// zccache to run in front of it (`zccache <real> args…`), if any.
    #[serde(with = "crate::wire_os::opt", default)]
    pub zccache: Option<PathBuf>,
    /// Environment for the exec (zccache's cache dir and settings).
    #[serde(with = "crate::wire_os::pairs")]
    pub env: Vec<(OsString, OsString)>,
    /// For `-MP`: whether this compiler separates phony targets with a
    /// blank line (older GCC) or not (GCC 10 and later).
    pub phony_blank_line: Option<bool>,
    /// A warning to print, sent once per build window, not per compile.
    pub warning: Option<String>,
    /// The flag that makes this compiler colour its diagnostics when its
    /// output is not a terminal (`-fdiagnostics-color=always`): given to a
    /// compile the cache runs for a terminal, so a hit replays colours as a
    /// miss shows them (ccache does the same). `None`: the compiler takes
    /// no such flag (TinyCC), or none was asked for.
    #[serde(default)]
    pub color_flag: Option<String>,
    /// The compiler's library folders (joined as PATH is), whose
    /// fingerprint goes with a link through the cache
    /// (`fbuild_core::link_inputs`); `None`: its links run without it.
    #[serde(with = "crate::wire_os::opt", default)]
    pub link_dirs: Option<OsString>,
    /// zccache's daemon socket, when it speaks fbuild's wire: the shim
    /// sends the compile there instead of running `zccache`.
    #[serde(with = "crate::wire_os::opt", default)]
    pub zccache_endpoint: Option<PathBuf>,
    /// Links and archives may go through the cache in front
    /// (`ZccacheChoice::caches_links`).
    #[serde(default)]
    pub links: bool,
}
