//! The socket server: accept, read one request line (bounded in size and
//! time), answer with welcome, events and one reply; stop on idle, on a
//! shutdown request or on SIGTERM/SIGINT.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use fbuild_core::protocol::{ClientFrame, ErrorKind, MAX_FRAME_BYTES, Reply, ServerFrame};
use fbuild_core::time::{REQUEST_READ_TIMEOUT, SHUTDOWN_GRACE};
use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::requests::dispatch;
use crate::state::State;

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
    let zccache = Arc::clone(&state.zccache);
    let _ = tokio::task::spawn_blocking(move || zccache.stop_daemon()).await;
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

fn malformed(message: String) -> Reply {
    Reply::Error {
        kind: ErrorKind::Malformed,
        message,
    }
}

pub(crate) async fn send_reply<W: AsyncWriteExt + Unpin>(send: &mut W, reply: Reply) {
    let _ = send_frame(send, &ServerFrame::Reply(reply)).await;
    let _ = send.shutdown().await;
}

pub(crate) async fn send_frame<W: AsyncWriteExt + Unpin>(
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
