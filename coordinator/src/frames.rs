//! Frames on a connection: reading the one request line (bounded), writing
//! frames, streaming a request's events with heartbeats until its reply.
//! The wire format itself is `fbuild_core::protocol`.

use std::future::Future;

use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{ErrorKind, Event, Reply, ServerFrame};
use fbuild_core::time::HEARTBEAT_INTERVAL;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub fn malformed(message: String) -> Reply {
    Reply::Error {
        kind: ErrorKind::Malformed,
        message,
    }
}

pub async fn send_reply<W: AsyncWriteExt + Unpin>(send: &mut W, reply: Reply) {
    let _ = send_frame(send, &ServerFrame::Reply(reply)).await;
    let _ = send.shutdown().await;
}

pub async fn send_frame<W: AsyncWriteExt + Unpin>(
    send: &mut W,
    frame: &ServerFrame,
) -> std::io::Result<()> {
    send.write_all(&frame.to_line()).await?;
    send.flush().await
}

pub enum Line {
    Complete(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to `\n`, never buffering more than `max` bytes.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Line> {
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

/// Runs `work`, forwarding its events to the client and a heartbeat after
/// every interval without one. A client that goes away does not cancel
/// shared work (installs run on their own tasks); only this wait ends.
pub async fn with_events<W: AsyncWriteExt + Unpin>(
    work: impl Future<Output = Reply>,
    mut events: mpsc::UnboundedReceiver<InstallStatus>,
    send: &mut W,
) -> Reply {
    tokio::pin!(work);
    let start = tokio::time::Instant::now();
    let mut events_open = true;
    loop {
        let frame = tokio::select! {
            reply = &mut work => {
                // Events the work sent just before it finished still go
                // out, before the reply (a waiter must see `installed`).
                while let Ok(status) = events.try_recv() {
                    if send_frame(send, &ServerFrame::Event(Event::Install(status))).await.is_err() {
                        break;
                    }
                }
                return reply;
            }
            ev = events.recv(), if events_open => match ev {
                Some(status) => ServerFrame::Event(Event::Install(status)),
                None => { events_open = false; continue; }
            },
            _ = tokio::time::sleep(HEARTBEAT_INTERVAL) => ServerFrame::Event(Event::Heartbeat {
                elapsed_ms: start.elapsed().as_millis() as u64,
            }),
        };
        if send_frame(send, &frame).await.is_err() {
            return error(ErrorKind::ShuttingDown, "client went away".into());
        }
    }
}

pub fn error(kind: ErrorKind, message: String) -> Reply {
    Reply::Error { kind, message }
}
