//! The connection to zccache's daemon, per OS: a Unix socket, or on
//! Windows the daemon's named pipe (`\\.\pipe\zccache-<hash>-v<version>`),
//! opened as a file (`crate::pipe`: busy instances are waited out).
//!
//! Hazard: a read or write must give up after the budget (a wedged daemon
//! must not hang a compile). Unix sockets have timeouts; a Windows pipe
//! opened as a file has none: the request is written and the answer read
//! through [`crate::timed_read`].

use std::io;
use std::path::Path;
use std::time::Duration;

/// Whether a failed connect is worth trying again after a pause (a daemon
/// restarting). Busy pipe instances are waited out by the connect itself.
pub fn is_retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
    )
}

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

/// Windows: the pipe, written within its budget, then read through a
/// [`TimedReader`](crate::timed_read::TimedReader).
#[cfg(not(unix))]
pub enum Stream {
    Writing {
        file: std::fs::File,
        write_timeout: Duration,
    },
    Reading(crate::timed_read::TimedReader),
    Gone,
}

#[cfg(not(unix))]
impl Stream {
    /// Connects, waiting up to `write_timeout` while every instance of the
    /// pipe is busy; each write is bounded by it too.
    pub fn connect(endpoint: &Path, write_timeout: Duration) -> io::Result<Stream> {
        let file = crate::pipe::open(endpoint, write_timeout)?;
        Ok(Stream::Writing {
            file,
            write_timeout,
        })
    }

    /// `TimedOut` when the daemon took nothing within the budget; the
    /// stream is then unusable.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Stream::Writing {
            file,
            write_timeout,
        } = std::mem::replace(self, Stream::Gone)
        else {
            return Err(io::Error::other("a request after the answer began"));
        };
        let file = crate::timed_read::write_within(file, bytes.to_vec(), write_timeout)?;
        *self = Stream::Writing {
            file,
            write_timeout,
        };
        Ok(())
    }

    pub fn read_within(&mut self, buf: &mut [u8], silence: Duration) -> io::Result<usize> {
        if let Stream::Writing { .. } = self
            && let Stream::Writing { file, .. } = std::mem::replace(self, Stream::Gone)
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
