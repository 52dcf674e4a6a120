//! One connection: connect (bounded), send the frame, read the welcome,
//! then events until the reply. Every read and the write are bounded by
//! the silence budget.
//!
//! Per OS: a Unix socket (interprocess) has timeouts of its own; a Windows
//! named pipe is opened as a file (`fbuild_core::pipe`: busy instances are
//! waited out, and a pipe served by another user's process is refused),
//! written and read through `fbuild_core::timed_read`.

use std::io::{BufRead, BufReader, ErrorKind as IoKind, Read};
use std::path::Path;
use std::time::Duration;

use fbuild_core::protocol::{
    ClientFrame, Event, Hello, MAX_FRAME_BYTES, Reply, Request, ServerFrame,
};
use fbuild_core::settings::{BuildSettings, CoordinatorSettings};
use fbuild_core::time::CONNECT_TIMEOUT;

use crate::error::ClientError;

/// Why a connection attempt failed.
pub(crate) enum Open {
    /// Nothing listens at the socket path (no file, or a dead one's file).
    NotRunning,
    /// Connected, but not even a welcome within the budget.
    Silent,
    Failed(ClientError),
}

/// A request sent and its welcome read; events and the reply follow.
pub(crate) struct Exchange {
    pub welcome: Hello,
    reader: BufReader<Box<dyn Read + Send>>,
    socket: std::path::PathBuf,
}

/// How a read ended when it did not yield a frame.
pub(crate) enum ReadFail {
    /// No byte within the budget.
    Silent,
    Other(ClientError),
}

/// What goes with every request: who we are and our settings.
#[derive(Clone)]
pub(crate) struct Header {
    pub hello: Hello,
    pub build: BuildSettings,
    pub coordinator: CoordinatorSettings,
}

pub(crate) fn open(
    socket: &Path,
    header: &Header,
    request: &Request,
    budget: Duration,
) -> Result<Exchange, Open> {
    let transport = |source| {
        Open::Failed(ClientError::Transport {
            socket: socket.to_path_buf(),
            cause: source,
        })
    };
    let stream = match connect(socket) {
        Ok(s) => s,
        // No socket there (a folder of the path may not even exist, or be
        // a file: starting one says what is wrong with the home).
        Err(e)
            if matches!(
                e.kind(),
                IoKind::NotFound | IoKind::ConnectionRefused | IoKind::NotADirectory
            ) =>
        {
            return Err(Open::NotRunning);
        }
        Err(e) => return Err(transport(e)),
    };
    check_server(&stream, socket).map_err(Open::Failed)?;
    let hello = &header.hello;
    let frame = ClientFrame {
        hello: hello.clone(),
        request: request.clone(),
        build: header.build.clone(),
        coordinator: header.coordinator.clone(),
    };
    let reader = send(stream, frame.to_line(), budget).map_err(transport)?;
    let mut exchange = Exchange {
        welcome: hello.clone(),
        reader: BufReader::new(reader),
        socket: socket.to_path_buf(),
    };
    match exchange.next_frame() {
        Ok(ServerFrame::Welcome(w)) => {
            exchange.welcome = w;
            Ok(exchange)
        }
        // A coordinator answers a request it cannot read with a bare reply.
        Ok(ServerFrame::Reply(Reply::Error { message, .. })) => {
            Err(Open::Failed(ClientError::Protocol(message)))
        }
        Ok(other) => Err(Open::Failed(ClientError::Protocol(format!(
            "expected a welcome, got {other:?}"
        )))),
        Err(ReadFail::Silent) => Err(Open::Silent),
        Err(ReadFail::Other(e)) => Err(Open::Failed(e)),
    }
}

#[cfg(unix)]
type Conn = interprocess::local_socket::Stream;

#[cfg(unix)]
fn connect(socket: &Path) -> std::io::Result<Conn> {
    use interprocess::ConnectWaitMode;
    use interprocess::local_socket::{ConnectOptions, GenericFilePath, prelude::*};
    let name = socket.to_fs_name::<GenericFilePath>()?;
    ConnectOptions::new()
        .name(name)
        .wait_mode(ConnectWaitMode::Timeout(CONNECT_TIMEOUT))
        .connect_sync()
}

/// The socket lives in a directory private to this user (see home.rs).
#[cfg(unix)]
fn check_server(_stream: &Conn, _socket: &Path) -> Result<(), ClientError> {
    Ok(())
}

/// Writes `frame`; returns the stream to read the answer from. Each
/// write and read is bounded by `budget` (the socket's own timeouts).
#[cfg(unix)]
fn send(stream: Conn, frame: Vec<u8>, budget: Duration) -> std::io::Result<Box<dyn Read + Send>> {
    use interprocess::local_socket::traits::Stream as _;
    use std::io::Write;
    stream.set_recv_timeout(Some(budget))?;
    stream.set_send_timeout(Some(budget))?;
    (&stream).write_all(&frame)?;
    Ok(Box::new(stream))
}

#[cfg(windows)]
type Conn = std::fs::File;

#[cfg(windows)]
fn connect(socket: &Path) -> std::io::Result<Conn> {
    fbuild_core::pipe::open(socket, CONNECT_TIMEOUT)
}

/// Refuses a pipe that another user's process created before ours.
#[cfg(windows)]
fn check_server(stream: &Conn, socket: &Path) -> Result<(), ClientError> {
    fbuild_core::pipe::check_server_user(stream, socket)
        .map_err(|cause| ClientError::ForeignServer { cause })
}

/// Writes `frame` within `budget`; returns the stream to read the answer
/// from, each read bounded by `budget`: a named pipe has no timeouts, so
/// both go through a thread ([`fbuild_core::timed_read`]).
#[cfg(windows)]
fn send(stream: Conn, frame: Vec<u8>, budget: Duration) -> std::io::Result<Box<dyn Read + Send>> {
    use fbuild_core::timed_read::{TimedReader, write_within};
    let stream = write_within(stream, frame, budget)?;
    Ok(Box::new(TimedReader::new(stream, budget)))
}

impl Exchange {
    /// Reads events (passed to `on_event`) until the reply.
    pub fn finish(mut self, on_event: &mut dyn FnMut(&Event)) -> Result<Reply, ReadFail> {
        loop {
            match self.next_frame()? {
                ServerFrame::Event(e) => on_event(&e),
                ServerFrame::Reply(r) => return Ok(r),
                ServerFrame::Welcome(_) => {
                    return Err(ReadFail::Other(ClientError::Protocol(
                        "a second welcome".into(),
                    )));
                }
            }
        }
    }

    fn next_frame(&mut self) -> Result<ServerFrame, ReadFail> {
        let mut line = Vec::new();
        let limit = MAX_FRAME_BYTES as u64 + 1;
        match (&mut self.reader).take(limit).read_until(b'\n', &mut line) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                return Err(ReadFail::Silent);
            }
            Err(source) => {
                return Err(ReadFail::Other(ClientError::Transport {
                    socket: self.socket.clone(),
                    cause: source,
                }));
            }
        }
        if line.last() != Some(&b'\n') {
            let source = if line.len() as u64 >= limit {
                std::io::Error::new(IoKind::InvalidData, "frame longer than the limit")
            } else {
                std::io::Error::new(IoKind::UnexpectedEof, "connection closed mid-answer")
            };
            return Err(ReadFail::Other(ClientError::Transport {
                socket: self.socket.clone(),
                cause: source,
            }));
        }
        serde_json::from_slice(&line)
            .map_err(|e| ReadFail::Other(ClientError::Protocol(e.to_string())))
    }
}
