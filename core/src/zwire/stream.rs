//! The connection to zccache's daemon, per OS: a Unix socket, or on
//! Windows the daemon's named pipe (`\\.\pipe\zccache-<hash>-v<version>`),
//! opened as zccache's own Windows client does, as a file.
//!
//! Hazard: a read must give up after the silence budget (a wedged daemon
//! must not hang a compile). Unix sockets have read timeouts; a Windows
//! pipe opened as a file has none, so a reader thread feeds a channel and
//! the caller waits on the channel with a timeout. A thread left blocked
//! after a timeout ends when the daemon answers or goes away.

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

#[cfg(not(unix))]
pub struct Stream {
    file: std::fs::File,
    chunks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
}

#[cfg(not(unix))]
impl Stream {
    pub fn connect(endpoint: &Path, _write_timeout: Duration) -> io::Result<Stream> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(endpoint)?;
        let mut reader = file.try_clone()?;
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let mut chunk = vec![0u8; 64 * 1024];
                let sent = match io::Read::read(&mut reader, &mut chunk) {
                    Ok(n) => {
                        chunk.truncate(n);
                        let end = n == 0;
                        tx.send(Ok(chunk)).is_err() || end
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        true
                    }
                };
                if sent {
                    return;
                }
            }
        });
        Ok(Stream {
            file,
            chunks,
            pending: Vec::new(),
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.file, bytes)
    }

    pub fn read_within(&mut self, buf: &mut [u8], silence: Duration) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.chunks.recv_timeout(silence) {
                Ok(chunk) => self.pending = chunk?,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // The reader ended after passing on the end or an error.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}
