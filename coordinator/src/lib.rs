//! The coordinator, `fbuild-coordinator`: one per `FBUILD_HOME`, started
//! lazily by the first client that needs it (see `fbuild-client`).
//!
//! Start-up, in order: take the readiness pipe, close every inherited fd,
//! make the private coordinator dir, start the log, take the singleton lock,
//! bind the socket, write `coordinator.json`, say "ready", serve until idle,
//! asked to stop, or SIGTERM.

mod activity;
mod args;
mod cache_figures;
mod colour;
mod cores;
mod endpoint;
mod fds;
mod frames;
mod health_record;
pub mod install;
mod libraries;
mod link_key;
mod logging;
mod package_indexes;
mod plan;
mod ports;
mod process;
mod requests;
mod sccache;
mod server;
mod services;
mod single_flight;
mod singleton;
#[cfg(test)]
mod test_support;
mod toolchain;
mod warnings;
pub mod zccache;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use fbuild_core::Settings;
use fbuild_core::info::CoordinatorInfo;
use fbuild_core::protocol::{Hello, PROTOCOL};
use fbuild_core::time::SINGLETON_LOCK_WAIT;

use crate::fds::ReadyPipe;
use crate::services::Services;
use crate::singleton::Singleton;

/// Entry point of the `fbuild-coordinator` binary.
pub fn main() -> ExitCode {
    let mut ready = ReadyPipe::take_from_env();
    fds::close_inherited(ready.raw_fd());
    match run(&mut ready) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let msg = format!("{err:#}");
            tracing::error!("coordinator failed: {msg}");
            ready.fail(&msg);
            eprintln!("fbuild-coordinator: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(ready: &mut ReadyPipe) -> Result<()> {
    let args = args::parse(std::env::args_os().skip(1))?;
    let mut settings = Settings::from_env()?;
    if let Some(home) = args.home {
        settings.home = settings.home.with_root(home);
    }
    let home = settings.home.clone();
    home.prepare_coordinator_dir()
        .with_context(|| format!("preparing {}", home.coordinator_dir().display()))?;
    logging::init(&home.log_file(), &settings.log_filter)?;
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let singleton = Singleton::acquire(&home, SINGLETON_LOCK_WAIT)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let listener = {
        let _guard = runtime.enter();
        endpoint::bind(&home.socket_path())?
    };
    let pid = std::process::id();
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let info = CoordinatorInfo {
        pid,
        version: settings.version.clone(),
        protocol: PROTOCOL,
        started,
        socket: home.socket_path().display().to_string(),
    };
    singleton.publish(&info)?;
    tracing::info!(pid, version = %settings.version, socket = %info.socket, "coordinator ready");
    ready.ready(pid);

    let state = Arc::new(Services::new(
        Hello {
            version: settings.version.clone(),
            protocol: PROTOCOL,
            pid,
        },
        &settings,
        started,
        Instant::now(),
    ));
    let owned = server::Owned::new(home.singleton_lock(), home.socket_path());
    runtime.block_on(server::run(listener, state, owned));
    runtime.shutdown_timeout(fbuild_core::time::RUNTIME_STOP_WAIT);
    drop(singleton);
    tracing::info!(pid, "coordinator exited");
    Ok(())
}
