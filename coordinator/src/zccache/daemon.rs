//! zccache's daemon, owned by the coordinator.
//!
//! Hazard: zccache starts its daemon on first use, and the daemon inherits
//! the environment of whoever started it. Left to a compile, that is a
//! build's environment: no `ZCCACHE_MAX_PARALLEL_COMPILES` (so on a 2-core
//! machine zccache runs one compile at a time), `MAKEFLAGS` naming jobserver
//! fds that do not exist in the daemon, and the build's cwd. So the
//! coordinator starts it first (`zccache start`) with a controlled
//! environment: its own cache dir under FBUILD_HOME, no parallelism limit,
//! the cache dir as cwd, stdio on /dev/null (and the coordinator has no
//! other fds a child could inherit: they are all close-on-exec).
//!
//! `zccache stop` has been seen to leave the daemon alive, so a daemon that
//! does not answer is stopped and then, if still there, killed by pid
//! (found by its `--endpoint` argument, which names our cache dir).

use std::path::{Path, PathBuf};

use fbuild_core::Home;
use fbuild_core::time::{
    ZCCACHE_COMMAND_TIMEOUT, ZCCACHE_PING_TIMEOUT as PING_TIMEOUT, ZCCACHE_STOP_TIMEOUT,
};
use fbuild_core::tool::run;

use fbuild_core::zwire::{self, WireError};

use super::command;

use crate::process::pids_with_args;

/// Makes sure a daemon for the home's cache dir answers; returns its
/// endpoint. `known`: the endpoint a daemon had before; a ping there
/// (well under a millisecond) answers for a live daemon without running
/// `zccache status`, and a daemon that is there but silent (stopped,
/// wedged) is replaced at once instead of after `zccache status` times
/// out.
pub fn ensure(bin: &Path, home: &Home, known: Option<&Path>) -> Result<PathBuf, String> {
    let cache_dir = home.zccache_cache_dir();
    std::fs::create_dir_all(&cache_dir)
        .map_err(|e| format!("creating {}: {e}", cache_dir.display()))?;
    if let Some(endpoint) = known {
        tracing::info!("probe: zccache ping");
        match zwire::ping(endpoint, PING_TIMEOUT) {
            // Another wire still means a live daemon.
            Ok(()) | Err(WireError::Mismatch(_)) => return Ok(endpoint.to_path_buf()),
            Err(WireError::Wedged(why)) => {
                tracing::warn!(
                    "zccache daemon at {} is wedged ({why}); replacing it",
                    endpoint.display()
                );
                stop(bin, home);
                start(bin, home)?;
                return status(bin, home)
                    .map_err(|why| format!("the zccache daemon does not answer: {why}"));
            }
            Err(_) => {}
        }
    }
    if let Ok(endpoint) = status(bin, home) {
        return Ok(endpoint);
    }
    start(bin, home)?;
    match status(bin, home) {
        Ok(endpoint) => return Ok(endpoint),
        Err(why) => {
            tracing::warn!("zccache daemon does not answer after start ({why}); restarting")
        }
    }
    stop(bin, home);
    start(bin, home)?;
    status(bin, home).map_err(|why| format!("the zccache daemon does not answer: {why}"))
}

/// `zccache status --json`: the endpoint when the daemon answers "ok".
pub fn status(bin: &Path, home: &Home) -> Result<PathBuf, String> {
    let json = status_json(bin, home)?;
    json["endpoint"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "zccache status --json names no endpoint".to_string())
}

/// `zccache status --json` when the daemon answers "ok" (its `daemon`
/// object holds the counts), else why not.
pub(crate) fn status_json(bin: &Path, home: &Home) -> Result<serde_json::Value, String> {
    tracing::info!("probe: zccache status");
    let out = run::output(
        &command(bin, home).args(["status", "--json"]),
        ZCCACHE_COMMAND_TIMEOUT,
    )
    .map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("zccache status --json printed no JSON ({e})"))?;
    match json["status"].as_str() {
        Some("ok") => Ok(json),
        _ => Err(json["error"]
            .as_str()
            .unwrap_or("status is not ok")
            .to_string()),
    }
}

fn start(bin: &Path, home: &Home) -> Result<(), String> {
    clear_spawn_breaker(&home.zccache_cache_dir());
    run::quiet(&command(bin, home).arg("start"), ZCCACHE_COMMAND_TIMEOUT).map_err(|e| e.to_string())
}

/// Removes zccache's spawn breakers (`v<version>/daemon-v<version>.lock.
/// spawn-failed`): a client whose recovery failed (or that was told not to
/// spawn) writes one, and for its 60 s cool-down `zccache start` refuses
/// too (1.15.8, measured). The coordinator decides when a daemon starts.
fn clear_spawn_breaker(cache_dir: &Path) {
    let Ok(versions) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for dir in versions.flatten() {
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            if file
                .file_name()
                .to_string_lossy()
                .ends_with(".lock.spawn-failed")
            {
                tracing::info!("removing zccache's spawn breaker {}", file.path().display());
                let _ = std::fs::remove_file(file.path());
            }
        }
    }
}

/// `zccache stop`, then a kill for any daemon of this cache dir that
/// outlived it.
pub fn stop(bin: &Path, home: &Home) {
    if let Err(why) = run::quiet(&command(bin, home).arg("stop"), ZCCACHE_STOP_TIMEOUT) {
        tracing::warn!("zccache stop: {why}");
    }
    let cache_dir = home.zccache_cache_dir();
    let cache = cache_dir.to_string_lossy();
    for pid in pids_with_args(&["--endpoint", &cache]) {
        tracing::warn!("zccache daemon {pid} survived `zccache stop`; killing it");
        // Its command line names our cache dir.
        fbuild_core::procs::kill(pid);
    }
}
