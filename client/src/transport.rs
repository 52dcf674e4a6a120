//! One connection: connect (bounded), send the frame, read the welcome,
//! then events until the reply. Every read is bounded by the silence budget.

use std::io::{BufRead, BufReader, ErrorKind as IoKind, Read, Write};
use std::path::Path;
use std::time::Duration;

use fbuild_core::protocol::{
    ClientFrame, Event, Hello, MAX_FRAME_BYTES, Reply, Request, ServerFrame,
};
use fbuild_core::settings::{BuildSettings, CoordinatorSettings};
use fbuild_core::time::CONNECT_TIMEOUT;
use interprocess::ConnectWaitMode;
use interprocess::local_socket::{ConnectOptions, GenericFilePath, Stream, prelude::*};

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
    let name = socket.to_fs_name::<GenericFilePath>().map_err(transport)?;
    let stream = match ConnectOptions::new()
        .name(name)
        .wait_mode(ConnectWaitMode::Timeout(CONNECT_TIMEOUT))
        .connect_sync()
    {
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
    if cfg!(unix) {
        stream.set_recv_timeout(Some(budget)).map_err(transport)?;
        stream.set_send_timeout(Some(budget)).map_err(transport)?;
    }
    let hello = &header.hello;
    let frame = ClientFrame {
        hello: hello.clone(),
        request: request.clone(),
        build: header.build.clone(),
        coordinator: header.coordinator.clone(),
    };
    (&stream).write_all(&frame.to_line()).map_err(transport)?;
    let mut exchange = Exchange {
        welcome: hello.clone(),
        reader: BufReader::new(timed(stream, budget)),
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

/// The stream to read the answer from, each read bounded by `budget`:
/// a Unix socket has its own timeout; a Windows named pipe has none, so
/// its reads go through a thread ([`fbuild_core::timed_read`]).
fn timed(stream: Stream, budget: Duration) -> Box<dyn Read + Send> {
    if cfg!(unix) {
        Box::new(stream)
    } else {
        Box::new(fbuild_core::timed_read::TimedReader::new(stream, budget))
    }
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
