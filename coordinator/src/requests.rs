//! Answers to each request type (the protocol is `fbuild_core::protocol`).
//! Long requests stream events: install progress as it happens, and a
//! heartbeat whenever nothing else was sent for a heartbeat interval.

use std::future::Future;
use std::time::Duration;

use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{
    ClientFrame, ErrorKind, Event, MIN_CLIENT_PROTOCOL, Reply, Request, ServerFrame,
};
use fbuild_core::time::HEARTBEAT_INTERVAL;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::install::follow;
use crate::server::send_frame;
use crate::state::State;
use crate::zccache;

pub async fn dispatch<W: AsyncWriteExt + Unpin>(
    frame: ClientFrame,
    state: &State,
    send: &mut W,
) -> Reply {
    let client = &frame.hello;
    if client.protocol < MIN_CLIENT_PROTOCOL {
        return error(
            ErrorKind::Incompatible,
            format!(
                "client {} speaks protocol {}, this coordinator ({}) needs {} or newer",
                client.version, client.protocol, state.hello.version, MIN_CLIENT_PROTOCOL
            ),
        );
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
            let (_events, rx) = mpsc::unbounded_channel();
            let hold = async {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Reply::Held
            };
            if heartbeat {
                with_events(hold, rx, send).await
            } else {
                hold.await
            }
        }
        Request::Install { package, retry } => {
            let (events, rx) = mpsc::unbounded_channel();
            with_events(install(state, package, retry, events), rx, send).await
        }
        Request::ResolveZccache => {
            let (events, rx) = mpsc::unbounded_channel();
            let resolve =
                async move { Reply::Zccache(state.zccache.resolve(&events, false).await) };
            with_events(resolve, rx, send).await
        }
        Request::Plan(req) => {
            let (events, rx) = mpsc::unbounded_channel();
            let plan = async move { crate::plan::plan(state, req, &events).await };
            with_events(plan, rx, send).await
        }
        Request::Toolchain(req) => {
            let (events, rx) = mpsc::unbounded_channel();
            let resolve = async move { crate::toolchain::resolve(state, req, &events).await };
            with_events(resolve, rx, send).await
        }
        Request::WatchPort { port } => watch_port(state, &port, send).await,
        Request::ClaimPort { port } => state.ports.claim(&port).await,
        Request::ReleasePort { port } => state.ports.release(&port),
        Request::Unknown => error(
            ErrorKind::Unsupported,
            format!(
                "this coordinator ({}) does not know that request; client is {}",
                state.hello.version, client.version
            ),
        ),
    }
}

async fn install(
    state: &State,
    package: String,
    retry: bool,
    events: mpsc::UnboundedSender<InstallStatus>,
) -> Reply {
    if package != "zccache" {
        return error(
            ErrorKind::UnknownPackage,
            format!("unknown package {package:?}; known: zccache"),
        );
    }
    let spec = match zccache::spec(&state.settings) {
        Ok(spec) => spec,
        Err(why) => return error(ErrorKind::InstallFailed, why),
    };
    let version = spec.version.clone();
    match follow(state.installer.ensure(spec, retry), &events).await {
        Ok(path) => {
            // Refresh the decision: the managed zccache (and its daemon) may
            // be usable now.
            state.zccache.resolve(&events, true).await;
            Reply::Installed {
                package,
                version,
                path: path.display().to_string(),
            }
        }
        Err(why) => error(ErrorKind::InstallFailed, why),
    }
}

/// Streams pause/resume events for `port` until the monitor goes away (or
/// the coordinator shuts down), with heartbeats in between.
async fn watch_port<W: AsyncWriteExt + Unpin>(state: &State, port: &str, send: &mut W) -> Reply {
    let mut events = state.ports.watch(port);
    let mut shutdown = state.shutdown.subscribe();
    loop {
        let frame = tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) => ServerFrame::Event(ev),
                None => return Reply::ShuttingDown,
            },
            _ = shutdown.changed() => return Reply::ShuttingDown,
            _ = tokio::time::sleep(HEARTBEAT_INTERVAL) => ServerFrame::Event(Event::Heartbeat { elapsed_ms: 0 }),
        };
        if send_frame(send, &frame).await.is_err() {
            return error(ErrorKind::ShuttingDown, "monitor went away".into());
        }
    }
}

/// Runs `work`, forwarding its events to the client and a heartbeat after
/// every interval without one. A client that goes away does not cancel
/// shared work (installs run on their own tasks); only this wait ends.
async fn with_events<W: AsyncWriteExt + Unpin>(
    work: impl Future<Output = Reply>,
    mut events: mpsc::UnboundedReceiver<InstallStatus>,
    send: &mut W,
) -> Reply {
    tokio::pin!(work);
    let start = tokio::time::Instant::now();
    let mut events_open = true;
    loop {
        let frame = tokio::select! {
            reply = &mut work => return reply,
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

fn error(kind: ErrorKind, message: String) -> Reply {
    Reply::Error { kind, message }
}
