//! The coordinator wire protocol: all of it, in this file and the library
//! requests' types in [`library_wire`](crate::library_wire).
//!
//! **Transport.** A local socket (a Unix socket file, see
//! [`Home::socket_path`](crate::Home::socket_path); a named pipe on Windows).
//! One request per connection:
//!
//! 1. the client writes one line: a [`ClientFrame`] as JSON, then `\n`;
//! 2. the coordinator answers with lines of [`ServerFrame`]: first
//!    `welcome` (its own [`Hello`]), then any number of `event`s (progress,
//!    heartbeats: at least one per [`HEARTBEAT_INTERVAL`] while work is in
//!    flight), then exactly one `reply`, then it closes the connection.
//!
//! Sending hello and request together costs one round trip on the warm path.
//!
//! **Limits.** A line is at most [`MAX_FRAME_BYTES`]. Invalid JSON, an
//! oversized line, or no complete line within the coordinator's request read
//! timeout gets a `reply` of kind [`ErrorKind::Malformed`] where possible and
//! closes that connection only.
//!
//! **Versions.** Every frame pair carries both sides' [`Hello`]. The newer
//! binary wins: a client whose version is newer than the coordinator's asks
//! it to shut down and starts its own; an older client uses a newer
//! coordinator as long as the coordinator still accepts its `protocol`
//! (otherwise it gets [`ErrorKind::Incompatible`] and falls back). Because
//! only the newer side ever evicts, two versions never ping-pong. Requests a
//! coordinator does not know are answered with [`ErrorKind::Unsupported`],
//! not by closing, so new request kinds degrade cleanly.
//!
//! [`HEARTBEAT_INTERVAL`]: crate::time::HEARTBEAT_INTERVAL

use std::ffi::OsString;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::cache_figures::{CacheAction, CacheFigures};
use crate::install_status::InstallStatus;
pub use crate::library_wire::{
    LibraryIndex, LibraryInstall, LibraryInstalled, LibraryQuery, LibraryRelease,
};
pub use crate::plan_wire::{Plan, PlanRequest, Toolchain, ToolchainRequest};
pub use crate::sccache_stats::SccacheStats;
use crate::settings::{BuildSettings, CoordinatorSettings, ZccacheMode};

/// Protocol revision this build speaks. 2: OS strings for paths, per-build
/// settings in every frame, warnings as events.
pub const PROTOCOL: u32 = 2;
/// Oldest client protocol this build's coordinator still serves.
pub const MIN_CLIENT_PROTOCOL: u32 = 1;
/// Longest line either side accepts, newline excluded.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Who is talking: sent by both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// fbuild version of the binary (e.g. `0.1.0`).
    pub version: String,
    /// Protocol revision ([`PROTOCOL`] of that binary).
    pub protocol: u32,
    /// Process id of the sender.
    pub pid: u32,
}

/// The one line a client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientFrame {
    pub hello: Hello,
    pub request: Request,
    /// The caller's per-build settings: they win over whatever the
    /// coordinator was started with, for this request only.
    #[serde(default)]
    pub build: BuildSettings,
    /// The per-coordinator settings the caller set explicitly. A running
    /// coordinator with other values answers as it is and sends one
    /// [`Event::Warning`] per mismatch and window, saying what to do.
    #[serde(default)]
    pub coordinator: CoordinatorSettings,
}

/// What a client asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Liveness check; answered with [`Reply::Pong`] without any other work.
    Ping,
    /// The coordinator's state; answered with [`Reply::Status`].
    Status,
    /// Stop accepting, finish in-flight requests (bounded), exit. Answered
    /// with [`Reply::ShuttingDown`] before the coordinator goes.
    Shutdown,
    /// Diagnostic: keep a request in flight for `millis`, sending a
    /// [`Event::Heartbeat`] every heartbeat interval when `heartbeat` is set
    /// (silence otherwise). Lets tests and benchmarks exercise in-flight
    /// work, idle exit and the client's silence budget. Answered with
    /// [`Reply::Held`].
    Hold { millis: u64, heartbeat: bool },
    /// Install (or verify) a package through the install gate. Streams
    /// [`Event::Install`] at least once per heartbeat interval; answered
    /// with [`Reply::Installed`] or [`ErrorKind::InstallFailed`]. A failure
    /// remembered from a recent attempt is answered at once unless `retry`.
    /// Packages: `zccache` (the managed zccache; its daemon is started too).
    Install { package: String, retry: bool },
    /// Decide which zccache compiles go through (per `FBUILD_ZCCACHE`),
    /// installing the managed one and starting its daemon if needed.
    /// Streams install events like `install`; answered with
    /// [`Reply::Zccache`]. Never fails: "none" is an answer, with a reason.
    ResolveZccache,
    /// Like [`Request::ResolveZccache`] when zccache can help this build
    /// (a recent decision, a daemon that is up, or a cache with content);
    /// otherwise answered [`Reply::Noted`] at once, with nothing started:
    /// on an empty cache every compile would be a miss, and starting the
    /// daemon (~270 ms of CPU) and storing misses (~11 ms of CPU each)
    /// would slow the build it cannot speed up. The build then sends
    /// `ResolveZccache` when it is done, for the next one.
    ZccacheIfUseful,
    /// A shim saw the zccache of its plan fail (daemon gone, connection
    /// closed, protocol error) and ran the real tool instead. The
    /// coordinator forgets its zccache decision, so the next plan checks
    /// the daemon again (and restarts it). Answered with [`Reply::Noted`].
    ZccacheFailed { reason: String },
    /// A build told its user that the shared cache (sccache's remote
    /// storage) went away during it: the coordinator's next decision does
    /// not say so again. Answered with [`Reply::Noted`].
    SharedCacheTold,
    /// How to run a tool a shim stands for. Streams install events while
    /// zccache is being installed; answered with [`Reply::Plan`], or
    /// [`ErrorKind::NoTool`] when the real tool is not on the caller's PATH.
    Plan(PlanRequest),
    /// `fbuild cache`: the compile cache's figures, after zeroing them or
    /// clearing the cache as `action` says; answered with
    /// [`Reply::CacheFigures`].
    Cache { action: CacheAction },
    /// An Arduino core and its tools from a package index, installed
    /// through the install gate (streams install events). Answered with
    /// [`Reply::Core`] or [`ErrorKind::InstallFailed`].
    InstallCore(CoreRequest),
    /// An Arduino core from an archive URL with its sha256 (no index, no
    /// tools: the core names its compilers). Answered like `install_core`.
    InstallCoreArchive(CoreArchiveRequest),
    /// The toolchain (and framework core) for a platform and MCU, health
    /// checked. Answered with [`Reply::Toolchain`] or [`ErrorKind::NoTool`].
    Toolchain(ToolchainRequest),
    /// Every version of a library an index lists. Answered with
    /// [`Reply::LibraryVersions`], or [`ErrorKind::UnknownPackage`] (with
    /// close names) when the index has no such library.
    LibraryVersions(LibraryQuery),
    /// A library into the shared store through the install gate (streams
    /// install events). Answered with [`Reply::Library`] or
    /// [`ErrorKind::InstallFailed`].
    InstallLibrary(LibraryInstall),
    /// A monitor watches `port`: the coordinator streams the port's state
    /// at once ([`Event::PortResumed`] when free), then
    /// [`Event::PortPaused`] when an upload claims the port and
    /// [`Event::PortResumed`] after it, until the monitor disconnects.
    WatchPort { port: String },
    /// An upload claims `port`: monitors of it are paused (they close it),
    /// then [`Reply::PortClaimed`]. Released by `release_port`, or after
    /// the claim timeout if the uploader never says so.
    ClaimPort { port: String },
    /// The upload is done: paused monitors of `port` reconnect.
    ReleasePort { port: String },
    /// The Arduino core of a platform with data (`atmelavr`): the system's,
    /// else the managed one through the install gate. Answered with
    /// [`Reply::Core`] (its tools come with [`Request::Toolchain`], asked
    /// with the board's MCU once the core's boards.txt has named it).
    PlatformCore { platform: String },
    /// Any request type this coordinator does not know (a newer client's
    /// `plan` or `install`, say). Answered with [`ErrorKind::Unsupported`].
    #[serde(other)]
    Unknown,
}

/// One line from the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerFrame {
    /// First line of every answer: the coordinator's own hello.
    Welcome(Hello),
    /// Progress while the request is in flight.
    Event(Event),
    /// The final answer; the connection closes after it.
    Reply(Reply),
}

/// Progress on a request in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The request is still being worked on.
    Heartbeat { elapsed_ms: u64 },
    /// An install this request waits on moved on.
    Install(InstallStatus),
    /// The watched port is claimed by an upload: close it.
    PortPaused,
    /// The upload is done: reopen the port.
    PortResumed,
    /// Something the user should read once (a per-coordinator setting that
    /// differs from the running coordinator's, say). Not an error.
    Warning { message: String },
}

/// The final answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Pong,
    Status(Box<Status>),
    CacheFigures(Box<CacheFigures>),
    ShuttingDown,
    Held,
    Installed {
        package: String,
        version: String,
        path: String,
    },
    Zccache(ZccacheChoice),
    Core(CoreInstall),
    Plan(Plan),
    Toolchain(Toolchain),
    LibraryVersions {
        releases: Vec<LibraryRelease>,
    },
    Library(LibraryInstalled),
    /// `paused`: how many monitors let go of the port.
    PortClaimed {
        paused: usize,
    },
    PortReleased,
    Noted,
    Error {
        kind: ErrorKind,
        message: String,
    },
}

/// A core from an Arduino package index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreRequest {
    /// URL of the `package_index.json` (`https://`, `http://`, `file://`).
    pub index_url: String,
    pub packager: String,
    pub arch: String,
    /// `None`: the newest the index lists.
    pub version: Option<String>,
}

/// A core archive (`.tar.gz`, `.tar.bz2`) and the sha256 it must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreArchiveRequest {
    pub url: String,
    pub sha256: String,
    pub packager: String,
    pub arch: String,
}

/// An installed core and the tools it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreInstall {
    #[serde(with = "crate::wire_os")]
    pub dir: PathBuf,
    pub version: String,
    /// `(name, version, folder)` of each tool, for `runtime.tools.*.path`.
    pub tools: Vec<CoreTool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreTool {
    pub name: String,
    pub version: String,
    #[serde(with = "crate::wire_os")]
    pub dir: PathBuf,
}

/// Which zccache compiles go through, and why (shown by `fbuild daemon
/// status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZccacheChoice {
    /// `FBUILD_ZCCACHE` as the coordinator read it.
    pub mode: ZccacheMode,
    /// `managed`, `ambient`, `none`, or `sccache` (`FBUILD_CACHE=sccache`).
    pub source: String,
    /// The zccache binary, when there is one.
    #[serde(with = "crate::wire_os::opt", default)]
    pub path: Option<PathBuf>,
    pub version: Option<String>,
    /// Why this choice (and what failed before it).
    pub reason: String,
    /// `ZCCACHE_CACHE_DIR` the daemon runs with (and wrappers must use).
    #[serde(with = "crate::wire_os::opt", default)]
    pub cache_dir: Option<PathBuf>,
    /// The daemon's socket, from `zccache status --json`.
    #[serde(with = "crate::wire_os::opt", default)]
    pub endpoint: Option<PathBuf>,
    /// Environment every wrapper call (`zccache <compiler> …`) needs.
    #[serde(with = "crate::wire_os::pairs", default)]
    pub env: Vec<(OsString, OsString)>,
    /// The daemon's wire version when fbuild speaks it (`zwire`):
    /// compiles go to its socket directly.
    #[serde(default)]
    pub wire: Option<u32>,
    /// Which path compiles take, and why (`fbuild daemon status`).
    #[serde(default)]
    pub compiles: String,
    /// Something the user should read once per window (sccache running on
    /// its local cache because the remote storage is down, say).
    #[serde(default)]
    pub warning: Option<String>,
}

impl ZccacheChoice {
    /// Whether links and archives may go through this cache: zccache's
    /// do; sccache caches compiles only (`sccache ar …` failed a build:
    /// "Compiler not supported").
    pub fn caches_links(&self) -> bool {
        self.source != "sccache"
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line was not a valid [`ClientFrame`] or was too long.
    Malformed,
    /// The client's protocol is older than the coordinator still serves.
    Incompatible,
    /// The request type is unknown to this coordinator.
    Unsupported,
    /// The coordinator is shutting down and takes no new work.
    ShuttingDown,
    /// An install failed; the message says why (and what to do).
    InstallFailed,
    /// No package of that name.
    UnknownPackage,
    /// The real tool (or a platform's toolchain) is not on the caller's
    /// PATH.
    NoTool,
    /// The platform is not one fbuild has data for.
    UnknownPlatform,
    /// The toolchain is there but cannot build an empty program.
    Unhealthy,
    /// A kind this binary does not know (a newer coordinator's): treated
    /// as the message says.
    #[serde(other)]
    Other,
}

/// The coordinator's state, as `fbuild daemon status --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    /// Start time, seconds since the Unix epoch.
    pub started: u64,
    pub uptime_secs: u64,
    pub home: String,
    pub socket: String,
    /// Requests in flight, this one included.
    pub active_requests: u64,
    /// Seconds of idleness after which the coordinator exits.
    pub idle_exit_secs: u64,
    pub installs: Vec<InstallStatus>,
    /// The latest zccache decision, once something asked for it.
    pub zccache: Option<ZccacheChoice>,
    /// sccache's server, when one runs for this home (`FBUILD_CACHE=sccache`).
    #[serde(default)]
    pub sccache: Option<SccacheStats>,
    /// The settings this coordinator was started with.
    #[serde(default)]
    pub settings: CoordinatorSettings,
}

impl ServerFrame {
    /// Serialises as one protocol line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        to_line(self)
    }
}

impl ClientFrame {
    /// Serialises as one protocol line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        to_line(self)
    }
}

fn to_line<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail.
    let mut line = serde_json::to_vec(value).expect("protocol frames serialise");
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_request_type_parses_as_unknown() {
        let line = r#"{"hello":{"version":"9.0.0","protocol":7,"pid":1},"request":{"type":"flash_board","port":"x"}}"#;
        let frame: ClientFrame = serde_json::from_str(line).unwrap();
        assert_eq!(frame.request, Request::Unknown);
        // A frame without settings (protocol 1) gets the defaults.
        assert_eq!(frame.build, BuildSettings::default());
    }

    #[test]
    fn frames_are_single_lines() {
        let frame = ServerFrame::Reply(Reply::Error {
            kind: ErrorKind::Malformed,
            message: "a\nb".into(),
        });
        let line = frame.to_line();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let back: ServerFrame = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, frame);
    }
}
