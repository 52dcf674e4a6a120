//! Reads and writes that give up after a time limit, for handles that have
//! no timeout of their own: a Windows named pipe opened synchronously (the
//! coordinator's pipe, zccache's daemon pipe).
//!
//! Reads: a thread owns the handle and passes what it reads through a
//! channel; a read waits on the channel with the limit and answers
//! `TimedOut` when nothing came. Made after the last write: a synchronous
//! handle serialises I/O, so a read pending on it would hold a write back.
//! The thread ends when the peer answers or goes away, or at its next read
//! once this reader is dropped.
//!
//! Writes ([`write_within`]): the same, one write on a thread that hands
//! the handle back. Hazard: a peer that stops reading (a wedged daemon)
//! would otherwise block the writer forever once the pipe's buffer is full.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

pub struct TimedReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    timeout: Duration,
}

impl TimedReader {
    pub fn new(mut source: impl Read + Send + 'static, timeout: Duration) -> TimedReader {
        let (tx, chunks) = channel();
        std::thread::spawn(move || {
            loop {
                let mut chunk = vec![0u8; 64 * 1024];
                let (message, last) = match source.read(&mut chunk) {
                    Ok(n) => {
                        chunk.truncate(n);
                        (Ok(chunk), n == 0)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => (Err(e), true),
                };
                if tx.send(message).is_err() || last {
                    return;
                }
            }
        });
        TimedReader {
            chunks,
            pending: Vec::new(),
            timeout,
        }
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.chunks.recv_timeout(self.timeout) {
                Ok(chunk) => self.pending = chunk?,
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                // The thread passed on the end (or an error) and stopped.
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Writes all of `bytes` to `sink` within `limit`, on a thread, and gives
/// the sink back. `TimedOut` when the peer did not take them in time: the
/// sink is then the thread's until its write ends (the peer reads or goes
/// away) or this process exits; the caller has given up on it.
pub fn write_within<W>(mut sink: W, bytes: Vec<u8>, limit: Duration) -> io::Result<W>
where
    W: Write + Send + 'static,
{
    let (tx, done) = channel();
    std::thread::spawn(move || {
        let result = sink.write_all(&bytes).and_then(|()| sink.flush());
        let _ = tx.send(result.map(|()| sink));
    });
    match done.recv_timeout(limit) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the peer took nothing for {limit:?}"),
        )),
        Err(RecvTimeoutError::Disconnected) => Err(io::Error::other("the writing thread died")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_source_times_out_and_data_and_the_end_come_through() {
        let (rx, mut tx) = std::io::pipe().unwrap();
        let mut r = TimedReader::new(rx, Duration::from_millis(50));
        let mut buf = [0u8; 8];
        assert_eq!(
            r.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        std::io::Write::write_all(&mut tx, b"abc").unwrap();
        r.set_timeout(Duration::from_secs(10));
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        drop(tx);
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_write_the_peer_does_not_take_times_out_and_one_it_takes_returns_the_sink() {
        let (mut rx, tx) = std::io::pipe().unwrap();
        let tx = write_within(tx, b"abc".to_vec(), Duration::from_secs(10)).unwrap();
        let mut buf = [0u8; 3];
        rx.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        // More than any pipe buffer, and nobody reads.
        let err = write_within(tx, vec![0u8; 16 << 20], Duration::from_millis(100)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // The peer going away ends the blocked write (and its thread).
        drop(rx);
    }
}
