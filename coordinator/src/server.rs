//! The socket server: accept, read one request line (bounded in size and
//! time), answer with welcome, events and one reply; stop on idle, on a
//! shutdown request or on SIGTERM/SIGINT.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fbuild_core::Settings;
use fbuild_core::protocol::{
    ClientFrame, ErrorKind, Event, Hello, MAX_FRAME_BYTES, MIN_CLIENT_PROTOCOL, Reply, Request,
    ServerFrame, Status,
};
use fbuild_core::time::{HEARTBEAT_INTERVAL, REQUEST_READ_TIMEOUT, SHUTDOWN_GRACE};
use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

use crate::activity::Activity;

/// Everything a connection handler may look at.
pub struct State {
    hello: Hello,
    home: String,
    socket: PathBuf,
    idle: Duration,
    started: u64,
    started_at: Instant,
    activity: Arc<Activity>,
    /// Set once (with the reason) when the coordinator starts to shut down.
    shutdown: watch::Sender<Option<String>>,
}

impl State {
    pub fn new(hello: Hello, settings: &Settings, started: u64, started_at: Instant) -> Self {
        State {
            hello,
            home: settings.home.root().display().to_string(),
            socket: settings.home.socket_path(),
            idle: settings.idle,
            started,
            started_at,
            activity: Arc::new(Activity::new()),
            shutdown: watch::channel(None).0,
        }
    }

    fn begin_shutdown(&self, reason: String) {
        self.shutdown.send_if_modified(|r| {
            if r.is_some() {
                return false;
            }
            tracing::info!("shutting down: {reason}");
            *r = Some(reason);
            true
        });
    }

    fn status(&self) -> Status {
        Status {
            pid: self.hello.pid,
            version: self.hello.version.clone(),
            protocol: self.hello.protocol,
            started: self.started,
            uptime_secs: self.started_at.elapsed().as_secs(),
            home: self.home.clone(),
            socket: self.socket.display().to_string(),
            active_requests: self.activity.active(),
            idle_exit_secs: self.idle.as_secs(),
            installs: Vec::new(),
        }
    }
}

/// Binds the socket. The caller holds the singleton lock, so any socket file
/// already at `path` belongs to a dead coordinator and is removed first.
pub fn bind(path: &Path) -> Result<Listener> {
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!("removed a stale socket {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("socket path {}", path.display()))?;
    ListenerOptions::new()
        .name(name)
        .reclaim_name(false)
        .mode(0o600)
        .create_tokio()
        .with_context(|| format!("listening on {}", path.display()))
}

/// Serves until shutdown, then drains in-flight requests (bounded).
pub async fn run(listener: Listener, state: Arc<State>) {
    tokio::spawn(watch_idle(Arc::clone(&state)));
    tokio::spawn(watch_signals(Arc::clone(&state)));
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    let guard = state.activity.enter();
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        handle(conn, &state).await;
                        drop(guard);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    // Stop being reachable first, so a successor can bind as soon as it
    // holds the singleton lock; then let in-flight requests finish.
    drop(listener);
    let _ = std::fs::remove_file(&state.socket);
    if tokio::time::timeout(SHUTDOWN_GRACE, state.activity.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} request(s) still in flight after {:?}; exiting anyway",
            state.activity.active(),
            SHUTDOWN_GRACE
        );
    }
}

async fn watch_idle(state: Arc<State>) {
    state.activity.idle_for(state.idle).await;
    state.begin_shutdown(format!("idle for {:?}", state.idle));
}

async fn watch_signals(state: Arc<State>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; SIGTERM will not be graceful");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    state.begin_shutdown(name.to_string());
}

/// One connection: one request line in, frames out. Errors only end this
/// connection.
async fn handle(conn: Stream, state: &State) {
    let mut reader = BufReader::new(&conn);
    let mut send = &conn;
    let line = match tokio::time::timeout(
        REQUEST_READ_TIMEOUT,
        read_line(&mut reader, MAX_FRAME_BYTES),
    )
    .await
    {
        Err(_) => return tracing::debug!("no request line within {REQUEST_READ_TIMEOUT:?}"),
        Ok(Err(e)) => return tracing::debug!("reading a request: {e}"),
        Ok(Ok(Line::Eof)) => return tracing::debug!("connection closed before a full line"),
        Ok(Ok(Line::TooLong)) => {
            let msg = format!("request line longer than {MAX_FRAME_BYTES} bytes");
            tracing::warn!("{msg}");
            return send_reply(&mut send, malformed(msg)).await;
        }
        Ok(Ok(Line::Complete(bytes))) => bytes,
    };
    let frame: ClientFrame = match serde_json::from_slice(&line) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!("malformed request: {e}");
            return send_reply(&mut send, malformed(format!("malformed request: {e}"))).await;
        }
    };
    if send_frame(&mut send, &ServerFrame::Welcome(state.hello.clone()))
        .await
        .is_err()
    {
        return;
    }
    let reply = dispatch(frame, state, &mut send).await;
    send_reply(&mut send, reply).await;
}

async fn dispatch<W: AsyncWriteExt + Unpin>(
    frame: ClientFrame,
    state: &State,
    send: &mut W,
) -> Reply {
    let client = &frame.hello;
    if client.protocol < MIN_CLIENT_PROTOCOL {
        return Reply::Error {
            kind: ErrorKind::Incompatible,
            message: format!(
                "client {} speaks protocol {}, this coordinator ({}) needs {} or newer",
                client.version, client.protocol, state.hello.version, MIN_CLIENT_PROTOCOL
            ),
        };
    }
    match frame.request {
        Request::Ping => Reply::Pong,
        Request::Status => Reply::Status(state.status()),
        Request::Shutdown => {
            state.begin_shutdown(format!(
                "requested by pid {} (fbuild {})",
                client.pid, client.version
            ));
            Reply::ShuttingDown
        }
        Request::Hold { millis, heartbeat } => {
            hold(Duration::from_millis(millis), heartbeat, send).await;
            Reply::Held
        }
        Request::Unknown => Reply::Error {
            kind: ErrorKind::Unsupported,
            message: format!(
                "this coordinator ({}) does not know that request; client is {}",
                state.hello.version, client.version
            ),
        },
    }
}

/// Keeps a request in flight, with a heartbeat per interval if asked.
async fn hold<W: AsyncWriteExt + Unpin>(total: Duration, heartbeat: bool, send: &mut W) {
    let start = tokio::time::Instant::now();
    let end = start + total;
    loop {
        let now = tokio::time::Instant::now();
        if now >= end {
            return;
        }
        if !heartbeat {
            return tokio::time::sleep_until(end).await;
        }
        tokio::time::sleep_until(end.min(now + HEARTBEAT_INTERVAL)).await;
        let elapsed_ms = start.elapsed().as_millis() as u64;
        let beat = ServerFrame::Event(Event::Heartbeat { elapsed_ms });
        if tokio::time::Instant::now() < end && send_frame(send, &beat).await.is_err() {
            return;
        }
    }
}

fn malformed(message: String) -> Reply {
    Reply::Error {
        kind: ErrorKind::Malformed,
        message,
    }
}

async fn send_reply<W: AsyncWriteExt + Unpin>(send: &mut W, reply: Reply) {
    let _ = send_frame(send, &ServerFrame::Reply(reply)).await;
    let _ = send.shutdown().await;
}

async fn send_frame<W: AsyncWriteExt + Unpin>(
    send: &mut W,
    frame: &ServerFrame,
) -> std::io::Result<()> {
    send.write_all(&frame.to_line()).await?;
    send.flush().await
}

enum Line {
    Complete(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to `\n`, never buffering more than `max` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> std::io::Result<Line> {
    let mut out = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(Line::Eof);
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(pos) => (pos, true),
            None => (buf.len(), false),
        };
        if out.len() + take > max {
            return Ok(Line::TooLong);
        }
        out.extend_from_slice(&buf[..take]);
        reader.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Line::Complete(out));
        }
    }
}
