//! The connection to zccache's daemon, per OS: a Unix socket, or on
//! Windows the daemon's named pipe (`\\.\pipe\zccache-<hash>-v<version>`),
//! opened as a file.
//!
//! Hazard: a read must give up after the silence budget (a wedged daemon
//! must not hang a compile). Unix sockets have read timeouts; a Windows
//! pipe opened as a file has none: after the request is written, reads go
//! through a [`crate::timed_read::TimedReader`].

use std::io;
use std::path::Path;
use std::time::Duration;

/// Whether a failed connect is worth trying again after a pause (a daemon
/// restarting; on Windows also every pipe instance busy for a moment).
pub fn is_retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
    ) || (cfg!(windows) && e.raw_os_error() == Some(ERROR_PIPE_BUSY))
}

/// `ERROR_PIPE_BUSY`: all instances of the pipe are in use.
const ERROR_PIPE_BUSY: i32 = 231;

#[cfg(unix)]
pub struct Stream(std::os::unix::net::UnixStream);

#[cfg(unix)]
impl Stream {
    pub fn connect(endpoint: &Path, write_timeout: Duration) -> io::Result<Stream> {
        let stream = std::os::unix::net::UnixStream::connect(endpoint)?;
        stream.set_write_timeout(Some(write_timeout))?;
        Ok(Stream(stream))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.0, bytes)
    }

    /// Reads what is there, waiting at most `silence`: `TimedOut` or
    /// `WouldBlock` when nothing came.
    pub fn read_within(&mut self, buf: &mut [u8], silence: Duration) -> io::Result<usize> {
        self.0.set_read_timeout(Some(silence))?;
        io::Read::read(&mut self.0, buf)
    }
}

/// Windows: the pipe, written once, then read through a [`TimedReader`].
#[cfg(not(unix))]
pub enum Stream {
    Writing(std::fs::File),
    Reading(crate::timed_read::TimedReader),
    Gone,
}

#[cfg(not(unix))]
impl Stream {
    pub fn connect(endpoint: &Path, _write_timeout: Duration) -> io::Result<Stream> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(endpoint)?;
        Ok(Stream::Writing(file))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Writing(file) => io::Write::write_all(file, bytes),
            _ => Err(io::Error::other("a request after the answer began")),
        }
    }

    pub fn read_within(&mut self, buf: &mut [u8], silence: Duration) -> io::Result<usize> {
        if let Stream::Writing(_) = self
            && let Stream::Writing(file) = std::mem::replace(self, Stream::Gone)
        {
            *self = Stream::Reading(crate::timed_read::TimedReader::new(file, silence));
        }
        match self {
            Stream::Reading(reader) => {
                reader.set_timeout(silence);
                io::Read::read(reader, buf)
            }
            _ => Ok(0),
        }
    }
}
