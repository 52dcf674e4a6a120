//! The socket server: accept, read one request line (bounded in size and
//! time), answer with welcome, events and one reply; stop on idle, on a
//! shutdown request or on SIGTERM/SIGINT.

use std::path::PathBuf;
use std::sync::Arc;

use fbuild_core::protocol::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use fbuild_core::time::{ACCEPT_BACKOFF, REQUEST_READ_TIMEOUT, SHUTDOWN_GRACE};
use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use tokio::io::BufReader;

use crate::endpoint::BoundSocket;
use crate::frames::{Line, malformed, read_line, send_frame, send_reply};
use crate::requests::dispatch;
use crate::services::Services;

/// What a coordinator holds in its home: the singleton lock's file and the
/// socket it bound, by identity (device and inode). Hazard (seen): after
/// `rm -rf $FBUILD_HOME` under a running coordinator, the next client
/// started another; the first one's idle exit then removed the second's
/// socket, which went on holding the lock unreachable, and every build
/// waited and failed for ten minutes. So a coordinator removes only its own
/// socket, and leaves as soon as its lock file is not the home's any more.
pub struct Owned {
    pub lock: PathBuf,
    pub lock_id: Option<(u64, u64)>,
    pub socket: BoundSocket,
}

impl Owned {
    pub fn new(lock: PathBuf, socket: PathBuf) -> Owned {
        Owned {
            lock_id: identity(&lock),
            socket: BoundSocket::new(socket),
            lock,
        }
    }

    /// Whether the home's lock file is still the one this process locked.
    fn still_ours(&self) -> bool {
        self.lock_id.is_some() && identity(&self.lock) == self.lock_id
    }
}

fn identity(path: &std::path::Path) -> Option<(u64, u64)> {
    fbuild_core::stamp::FileStamp::of(path).map(|s| (s.dev, s.ino))
}

/// Serves until shutdown, then drains in-flight requests (bounded).
pub async fn run(listener: Listener, state: Arc<Services>, owned: Owned) {
    let owned = Arc::new(owned);
    tokio::spawn(watch_idle(Arc::clone(&state)));
    tokio::spawn(watch_home(Arc::clone(&state), Arc::clone(&owned)));
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
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    // Stop being reachable first, so a successor can bind as soon as it
    // holds the singleton lock; then let in-flight requests finish.
    drop(listener);
    owned.socket.remove();
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
    // The shims' remembered plans name that daemon: a stopped one's socket
    // file can outlive it, and a plan used then costs a failed connection
    // and a warning.
    let _ = std::fs::remove_dir_all(state.settings.home.plans_dir());
    let sccache = Arc::clone(&state.sccache);
    let _ = tokio::task::spawn_blocking(move || sccache.stop()).await;
}

async fn watch_idle(state: Arc<Services>) {
    state.activity.idle_for(state.idle()).await;
    state.begin_shutdown(format!("idle for {:?}", state.idle()));
}

/// Leaves when the home's lock file is no longer the one this process
/// holds (see [`Owned`]).
async fn watch_home(state: Arc<Services>, owned: Arc<Owned>) {
    loop {
        tokio::time::sleep(fbuild_core::time::OWNERSHIP_CHECK).await;
        if !owned.still_ours() {
            state.begin_shutdown(format!(
                "{} is no longer the lock this coordinator holds (its home was removed or \
                 replaced)",
                owned.lock.display()
            ));
            return;
        }
    }
}

async fn watch_signals(state: Arc<Services>) {
    if let Some(name) = crate::endpoint::stop_signal().await {
        state.begin_shutdown(name.to_string());
    }
}

/// One connection: one request line in, frames out. Errors only end this
/// connection.
async fn handle(conn: Stream, state: &Services) {
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
