//! The coordinator's log: tracing to `coordinator/coordinator.log`, filtered
//! by `FBUILD_LOG`. Its stderr is /dev/null, so panics are logged too.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use fbuild_core::settings::DEFAULT_LOG_FILTER;
use tracing_subscriber::EnvFilter;

pub fn init(path: &Path, filter: &str) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the log {}", path.display()))?;
    let (filter, bad_filter) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(DEFAULT_LOG_FILTER),
            Some(format!("FBUILD_LOG={filter:?}: {e}")),
        ),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .init();
    if let Some(msg) = bad_filter {
        tracing::warn!("ignoring invalid log filter {msg}; using {DEFAULT_LOG_FILTER}");
    }
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("coordinator panicked: {info}");
    }));
    Ok(())
}
