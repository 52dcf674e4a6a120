//! zccache's daemon wire, spoken directly: one `CompileEphemeral` request
//! on the daemon's socket and its `CompileResult` back (a `LinkEphemeral`
//! and its `LinkResult` for a link or an archive), the same exchange
//! zccache's own wrapper makes, without starting a zccache client process
//! per compile (measured here: that process is most of a cache hit).
//!
//! Frames: `[u32 LE length][u32 LE wire version][protobuf zccache.v1
//! message]`, the length covering version + message. The version is
//! zccache's `PROST_PROTOCOL_VERSION`: 26 for the pinned zccache 1.15.8
//! (probed: every other value gets a "protocol version mismatch" error).
//! Another zccache answers with that error or another version: the caller
//! then runs zccache's own client ([`WireError::Mismatch`]).
//!
//! Robust like zccache's wrapper: refused connections are retried with
//! jitter; `Backpressure` is honoured; `CompileProgress` heartbeats (every
//! 5 s while a compile waits for a slot) restart the silence budget; a
//! daemon silent past the budget is probed with `Ping` on a fresh
//! connection — alive means busy (keep waiting), no answer means wedged.

pub mod messages;
mod stream;

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use messages::{
    CompileEphemeral, EnvVar, LinkEphemeral, Request, RequestBody, Response, ResponseBody, WirePath,
};
use prost::Message;

/// The wire version fbuild speaks (zccache 1.15.8's).
pub const WIRE_VERSION: u32 = 26;
/// Largest frame read (zccache's own cap is 16 MiB).
const MAX_FRAME: usize = 64 << 20;
/// How an outdated or newer daemon says it cannot read us.
const MISMATCH_TEXT: &str = "protocol version mismatch";

/// Why the wire could not serve a compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The daemon speaks another wire version: use zccache's own client.
    Mismatch(String),
    /// No daemon at the endpoint, or it went away mid-request.
    Unreachable(String),
    /// The daemon neither answered within the budget nor answered a probe.
    Wedged(String),
    /// The daemon answered with an error, or with something unreadable.
    Failed(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Mismatch(m) => write!(f, "zccache's daemon speaks another wire: {m}"),
            WireError::Unreachable(m) => write!(f, "zccache's daemon is unreachable: {m}"),
            WireError::Wedged(m) => write!(f, "zccache's daemon is wedged: {m}"),
            WireError::Failed(m) => write!(f, "zccache's daemon failed the compile: {m}"),
        }
    }
}

/// A compile for the daemon. Everything must be UTF-8 (protobuf strings);
/// callers run the compiler themselves otherwise.
pub struct CompileCall<'a> {
    pub compiler: &'a Path,
    pub args: Vec<String>,
    pub cwd: &'a Path,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

/// What the compiler did (or what the cache says it did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Served from the cache.
    pub cached: bool,
}

impl Outcome {
    /// The exit code to exit with (a negative one, a compiler that did
    /// not exit normally, is a failure; on Windows a negative code is an
    /// NTSTATUS such as a crash's 0xC0000005, passed on as it is).
    pub fn code(&self) -> i32 {
        if self.exit_code < 0 && cfg!(unix) {
            1
        } else {
            self.exit_code
        }
    }
}

/// Whether compiles may use the wire at all (`FBUILD_ZCCACHE_WIRE`, see
/// [`crate::settings::zccache_wire`]); asked by the shims and by `fbuild
/// build`.
pub fn enabled() -> bool {
    crate::settings::zccache_wire()
}

/// How long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Silence after which the daemon is probed.
    pub silence: Duration,
    /// How long a probe may take.
    pub probe: Duration,
    /// `Backpressure` answers honoured before giving up.
    pub backpressure_retries: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            silence: crate::time::DEFAULT_ZCCACHE_SILENCE,
            probe: crate::time::ZCCACHE_PING_TIMEOUT,
            backpressure_retries: 50,
        }
    }
}

impl Budget {
    /// The default, with `FBUILD_ZCCACHE_SILENCE_SECS` as the silence
    /// budget when set to a usable value ([`crate::settings::zccache_silence`]).
    pub fn from_env() -> Budget {
        let mut budget = Budget::default();
        if let Some(silence) = crate::settings::zccache_silence() {
            budget.silence = silence;
            budget.probe = budget
                .probe
                .min(silence.max(crate::time::ZCCACHE_PROBE_FLOOR));
        }
        budget
    }
}

/// Whether the daemon at `endpoint` answers our wire within `timeout`.
pub fn ping(endpoint: &Path, timeout: Duration) -> Result<(), WireError> {
    let request = Request {
        body: Some(RequestBody::Ping(messages::Empty {})),
        request_id: String::new(),
    };
    let mut conn = Conn::open(endpoint, timeout)?;
    conn.send(&request)?;
    match conn.next(timeout)? {
        Some(Response {
            body: Some(ResponseBody::Pong(_)),
            ..
        }) => Ok(()),
        Some(other) => Err(unexpected(other)),
        None => Err(WireError::Wedged(format!(
            "no answer to a ping within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// What a call asks the daemon for: zccache's own wrapper sends a link
/// (an executable or shared library from a compiler driver, `ld`) or an
/// archive (`ar`) as `LinkEphemeral`, everything else as a compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Compile,
    Link,
}

/// Whether a compiler driver's arguments make it link (zccache's wrapper's
/// rule: no `-c`, `-E`, `-S`, `--precompile`, no `-M`/`-MM` alone, and no
/// header being precompiled), looking into `@response` files.
pub fn driver_links(args: &[String], cwd: &Path) -> bool {
    let mut words: Vec<String> = Vec::new();
    for arg in args {
        match arg.strip_prefix('@').filter(|f| !f.is_empty()) {
            Some(file) => match std::fs::read_to_string(cwd.join(file)) {
                Ok(text) => words.extend(text.split_whitespace().map(str::to_string)),
                // Unreadable: leave the choice to the daemon, as a compile.
                Err(_) => return false,
            },
            None => words.push(arg.clone()),
        }
    }
    let compiles = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "-c" | "-E" | "-S" | "--precompile" | "-M" | "-MM" | "-fsyntax-only"
        )
    });
    let header = words
        .windows(2)
        .any(|w| w[0] == "-x" && w[1].ends_with("-header"));
    !compiles && !header
}

/// Runs `call` through the daemon at `endpoint` as a `kind`.
pub fn compile(
    endpoint: &Path,
    call: CompileCall,
    kind: Kind,
    budget: Budget,
) -> Result<Outcome, WireError> {
    let cwd = utf8(call.cwd)?;
    let env: Vec<EnvVar> = call
        .env
        .into_iter()
        .map(|(name, value)| EnvVar { name, value })
        .collect();
    let tool = Some(WirePath {
        value: utf8(call.compiler)?,
    });
    let body = match kind {
        Kind::Compile => RequestBody::CompileEphemeral(CompileEphemeral {
            client_pid: std::process::id(),
            working_dir: Some(WirePath { value: cwd.clone() }),
            compiler: tool,
            args: call.args,
            cwd: Some(WirePath { value: cwd }),
            env,
            env_is_set: true,
            stdin: call.stdin,
        }),
        Kind::Link => RequestBody::LinkEphemeral(LinkEphemeral {
            client_pid: std::process::id(),
            tool,
            args: call.args,
            cwd: Some(WirePath { value: cwd }),
            env,
            env_is_set: true,
        }),
    };
    let request = Request {
        body: Some(body),
        request_id: String::new(),
    };
    let mut retries = 0;
    let mut reopened = false;
    'connection: loop {
        let mut conn = Conn::open(endpoint, budget.silence)?;
        conn.send(&request)?;
        let mut answered = false;
        loop {
            let next = match conn.next(budget.silence) {
                // Closed before any answer, not even progress (seen under
                // load, a daemon dropping a connection it took): once more
                // on a new one.
                Err(WireError::Unreachable(why))
                    if why == CLOSED_EARLY && !reopened && !answered && conn.buf.is_empty() =>
                {
                    reopened = true;
                    std::thread::sleep(reconnect_pause());
                    continue 'connection;
                }
                next => next?,
            };
            let Some(response) = next else {
                // Silence: busy (a live daemon answers a probe) or wedged.
                ping(endpoint, budget.probe).map_err(|why| {
                    WireError::Wedged(format!(
                        "no answer for {:.1} s, and a probe failed: {why}",
                        budget.silence.as_secs_f64()
                    ))
                })?;
                continue;
            };
            match response.body {
                Some(ResponseBody::CompileResult(r)) => {
                    return Ok(Outcome {
                        exit_code: r.exit_code,
                        stdout: r.stdout,
                        stderr: r.stderr,
                        cached: r.cached,
                    });
                }
                Some(ResponseBody::LinkResult(r)) => {
                    let mut stderr = r.stderr;
                    if let Some(warning) = r.warning {
                        // As zccache's own wrapper prints it.
                        stderr
                            .extend_from_slice(format!("zccache warning: {warning}\n").as_bytes());
                    }
                    return Ok(Outcome {
                        exit_code: r.exit_code,
                        stdout: r.stdout,
                        stderr,
                        cached: r.cached,
                    });
                }
                Some(ResponseBody::CompileProgress(_)) => {
                    answered = true;
                    continue;
                }
                Some(ResponseBody::Backpressure(b)) if retries < budget.backpressure_retries => {
                    retries += 1;
                    let wait = u64::from(b.retry_after_ms.clamp(1, 2_000));
                    std::thread::sleep(Duration::from_millis(wait + jitter(wait / 2 + 1)));
                    continue 'connection;
                }
                _ => return Err(unexpected(response)),
            }
        }
    }
}

fn unexpected(response: Response) -> WireError {
    match response.body {
        Some(ResponseBody::Error(e)) if e.message.contains(MISMATCH_TEXT) => {
            WireError::Mismatch(e.message)
        }
        Some(ResponseBody::Error(e)) => WireError::Failed(e.message),
        Some(ResponseBody::Backpressure(b)) => {
            WireError::Failed(format!("the daemon kept refusing work ({})", b.reason))
        }
        other => WireError::Failed(format!("unexpected answer {other:?}")),
    }
}

fn utf8(path: &Path) -> Result<String, WireError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| WireError::Failed(format!("{} is not UTF-8", path.display())))
}

/// A pseudo-random number of milliseconds below `max` (spreads retries of
/// concurrent shims; no need for a real generator).
fn jitter(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed =
        u64::from(nanos ^ std::process::id().rotate_left(16)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 33) % max.max(1)
}

/// The pause before connecting again: [`crate::time::ZCCACHE_RECONNECT_PAUSE`]
/// plus a jitter below [`crate::time::ZCCACHE_RECONNECT_JITTER`].
fn reconnect_pause() -> Duration {
    let spread = crate::time::ZCCACHE_RECONNECT_JITTER.as_millis() as u64;
    crate::time::ZCCACHE_RECONNECT_PAUSE + Duration::from_millis(jitter(spread))
}

/// Why a connection ended without an answer.
const CLOSED_EARLY: &str = "the daemon closed the connection before answering";

/// One connection, with a buffer so that a timeout in the middle of a
/// frame loses nothing.
struct Conn {
    stream: stream::Stream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects; a refused or missing socket (a daemon restarting) is
    /// tried twice more after a jittered pause.
    fn open(endpoint: &Path, timeout: Duration) -> Result<Conn, WireError> {
        let mut attempt = 0;
        loop {
            match stream::Stream::connect(endpoint, timeout) {
                Ok(stream) => {
                    return Ok(Conn {
                        stream,
                        buf: Vec::new(),
                    });
                }
                Err(e) if attempt < 2 && stream::is_retryable(&e) => {
                    attempt += 1;
                    std::thread::sleep(reconnect_pause());
                }
                Err(e) => {
                    return Err(WireError::Unreachable(format!(
                        "connecting to {}: {e}",
                        endpoint.display()
                    )));
                }
            }
        }
    }

    fn send(&mut self, request: &Request) -> Result<(), WireError> {
        let body = request.encode_to_vec();
        let mut frame = Vec::with_capacity(8 + body.len());
        frame.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        frame.extend_from_slice(&WIRE_VERSION.to_le_bytes());
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).map_err(|e| match e.kind() {
            // A daemon that takes no request within the budget is wedged,
            // like one that sends nothing.
            ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                WireError::Wedged(format!("it took no request: {e}"))
            }
            _ => WireError::Unreachable(format!("sending the request: {e}")),
        })
    }

    /// The next response; `None` when nothing complete came within
    /// `silence`.
    fn next(&mut self, silence: Duration) -> Result<Option<Response>, WireError> {
        loop {
            if let Some(response) = self.take()? {
                return Ok(Some(response));
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read_within(&mut chunk, silence) {
                Ok(0) => return Err(WireError::Unreachable(CLOSED_EARLY.into())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(WireError::Unreachable(format!("reading the answer: {e}"))),
            }
        }
    }

    /// A complete frame from the buffer, decoded.
    fn take(&mut self) -> Result<Option<Response>, WireError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.buf[0..4].try_into().expect("4 bytes")) as usize;
        let version = u32::from_le_bytes(self.buf[4..8].try_into().expect("4 bytes"));
        if !(4..=MAX_FRAME).contains(&len) {
            return Err(WireError::Failed(format!("a frame of {len} bytes")));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..4 + len).skip(8).collect();
        let decoded = Response::decode(frame.as_slice());
        if version != WIRE_VERSION {
            let said = decoded
                .ok()
                .and_then(|r| match r.body {
                    Some(ResponseBody::Error(e)) => Some(e.message),
                    _ => None,
                })
                .unwrap_or_default();
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            };
            return Err(WireError::Mismatch(format!(
                "it answered with wire version {version}, fbuild speaks {WIRE_VERSION}{said}"
            )));
        }
        decoded
            .map(Some)
            .map_err(|e| WireError::Failed(format!("an unreadable answer: {e}")))
    }
}

#[cfg(test)]
#[path = "zwire_tests.rs"]
mod tests;
