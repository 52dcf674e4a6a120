//! Answers to each request type (the protocol is `fbuild_core::protocol`).
//! Long requests stream events (see `frames::with_events`). Per-build
//! settings come with each frame and are passed to the service that uses
//! them; per-coordinator settings that differ from this coordinator's are
//! answered with one warning per window.

use std::time::Duration;

use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{
    ClientFrame, ErrorKind, Event, MIN_CLIENT_PROTOCOL, Reply, Request, ServerFrame,
};
use fbuild_core::settings::{CacheKind, ZccacheMode};
use fbuild_core::time::HEARTBEAT_INTERVAL;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::frames::{error, send_frame, with_events};
use crate::install::follow;
use crate::services::Services;
use crate::zccache;

pub async fn dispatch<W: AsyncWriteExt + Unpin>(
    frame: ClientFrame,
    svc: &Services,
    send: &mut W,
) -> Reply {
    let client = &frame.hello;
    if client.protocol < MIN_CLIENT_PROTOCOL {
        return error(
            ErrorKind::Incompatible,
            format!(
                "client {} speaks protocol {}, this coordinator ({}) needs {} or newer",
                client.version, client.protocol, svc.hello.version, MIN_CLIENT_PROTOCOL
            ),
        );
    }
    if warn_about_settings(&frame, svc, send).await.is_err() {
        return error(ErrorKind::ShuttingDown, "client went away".into());
    }
    let mode = frame.build.zccache;
    let cache = frame.build.cache;
    let (events, rx) = mpsc::unbounded_channel::<InstallStatus>();
    match frame.request {
        Request::Ping => Reply::Pong,
        // sccache's figures come from its server (a command): blocking.
        Request::Status => Reply::Status(Box::new(tokio::task::block_in_place(|| svc.status()))),
        Request::Shutdown => {
            svc.begin_shutdown(format!(
                "requested by pid {} (fbuild {})",
                client.pid, client.version
            ));
            Reply::ShuttingDown
        }
        Request::Hold { millis, heartbeat } => {
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
            with_events(install(svc, package, retry, mode, events), rx, send).await
        }
        Request::ResolveZccache | Request::ZccacheIfUseful if cache != CacheKind::Zccache => {
            // sccache (a shared cache helps even a cold build) or none; on
            // a task of its own, like zccache's below: a build that is done
            // before sccache is up leaves it starting for the next one.
            let sccache = std::sync::Arc::clone(&svc.sccache);
            let zccache = std::sync::Arc::clone(&svc.zccache);
            let working = svc.activity.enter();
            let task = tokio::spawn(async move {
                let _working = working;
                match cache {
                    CacheKind::Sccache => sccache.resolve(&events).await,
                    _ => zccache.resolve(ZccacheMode::Off, &events, false).await,
                }
            });
            let choose = async move {
                match task.await {
                    Ok(choice) => Reply::Zccache(choice),
                    Err(e) => crate::frames::error(ErrorKind::InstallFailed, e.to_string()),
                }
            };
            with_events(choose, rx, send).await
        }
        Request::ResolveZccache | Request::ZccacheIfUseful => {
            // On a task of its own: a client that leaves (a build that
            // finished before the daemon was up) does not cut the decision
            // short; the next build finds it made. The task counts as
            // activity, so a shutdown waits for it and then stops the
            // daemon it started (else that daemon would be orphaned).
            let only_if_useful = matches!(frame.request, Request::ZccacheIfUseful);
            let zccache = std::sync::Arc::clone(&svc.zccache);
            let working = svc.activity.enter();
            let task = tokio::spawn(async move {
                let _working = working;
                if only_if_useful {
                    zccache.if_useful(mode, &events).await
                } else {
                    Some(zccache.resolve(mode, &events, false).await)
                }
            });
            let resolve = async move {
                match task.await {
                    Ok(Some(choice)) => Reply::Zccache(choice),
                    Ok(None) => Reply::Noted,
                    Err(e) => crate::frames::error(ErrorKind::InstallFailed, e.to_string()),
                }
            };
            with_events(resolve, rx, send).await
        }
        Request::Cache { action } => {
            tokio::task::block_in_place(|| crate::cache_figures::answer(svc, action, cache))
        }
        Request::ZccacheFailed { reason } => {
            svc.zccache.forget(&reason);
            Reply::Noted
        }
        Request::SharedCacheTold => {
            svc.sccache.told();
            Reply::Noted
        }
        Request::Plan(req) => {
            let plan = async move { svc.plans.plan(req, cache, mode, &events).await };
            with_events(plan, rx, send).await
        }
        Request::InstallCore(req) => {
            let install = async move { svc.cores.install(req, &events).await };
            with_events(install, rx, send).await
        }
        Request::InstallCoreArchive(req) => {
            let install = async move { svc.cores.install_archive(req, &events).await };
            with_events(install, rx, send).await
        }
        Request::Toolchain(req) => {
            let resolve = async move { svc.toolchains.resolve(req, &events).await };
            with_events(resolve, rx, send).await
        }
        Request::PlatformCore { platform } => {
            let core = async move { svc.toolchains.platform_core(&platform, &events).await };
            with_events(core, rx, send).await
        }
        Request::LibraryVersions(q) => {
            let versions = async move { svc.libraries.versions(q, &events).await };
            with_events(versions, rx, send).await
        }
        Request::InstallLibrary(req) => {
            let install = async move { svc.libraries.install(req, &events).await };
            with_events(install, rx, send).await
        }
        Request::WatchPort { port } => watch_port(svc, &port, send).await,
        Request::ClaimPort { port } => svc.ports.claim(&port).await,
        Request::ReleasePort { port } => svc.ports.release(&port),
        Request::Unknown => error(
            ErrorKind::Unsupported,
            format!(
                "this coordinator ({}) does not know that request; client is {}",
                svc.hello.version, client.version
            ),
        ),
    }
}

/// One warning per window when the client sets per-coordinator variables
/// this coordinator was not started with. They are not applied: the
/// coordinator serves every build of the home, and an install URL or idle
/// time cannot change under the builds already running.
async fn warn_about_settings<W: AsyncWriteExt + Unpin>(
    frame: &ClientFrame,
    svc: &Services,
    send: &mut W,
) -> std::io::Result<()> {
    let diff = frame.coordinator.differences(&svc.settings.coordinator);
    if diff.is_empty() {
        return Ok(());
    }
    let text = format!(
        "the running coordinator (pid {}) was started with other settings; ignoring {}. \
         They apply when it starts again: `fbuild daemon stop`, then build.",
        svc.hello.pid,
        diff.join(", ")
    );
    match svc.warnings.first(&text) {
        Some(message) => send_frame(send, &ServerFrame::Event(Event::Warning { message })).await,
        None => Ok(()),
    }
}

async fn install(
    svc: &Services,
    package: String,
    retry: bool,
    mode: ZccacheMode,
    events: mpsc::UnboundedSender<InstallStatus>,
) -> Reply {
    if package != "zccache" {
        return error(
            ErrorKind::UnknownPackage,
            format!("unknown package {package:?}; known: zccache"),
        );
    }
    let spec = match zccache::spec(&svc.settings) {
        Ok(spec) => spec,
        Err(why) => return error(ErrorKind::InstallFailed, why.to_string()),
    };
    let version = spec.version.clone();
    match follow(svc.installer.ensure(spec, retry), &events).await {
        Ok(path) => {
            // Refresh the decision: the managed zccache (and its daemon)
            // may be usable now.
            svc.zccache.resolve(mode, &events, true).await;
            Reply::Installed {
                package,
                version,
                path: path.display().to_string(),
            }
        }
        Err(why) => error(ErrorKind::InstallFailed, why.to_string()),
    }
}

/// Streams pause/resume events for `port` until the monitor goes away (or
/// the coordinator shuts down), with heartbeats in between.
async fn watch_port<W: AsyncWriteExt + Unpin>(svc: &Services, port: &str, send: &mut W) -> Reply {
    let mut events = svc.ports.watch(port);
    let mut shutdown = svc.shutdown.subscribe();
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
