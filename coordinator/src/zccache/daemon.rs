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

use std::path::Path;
use std::process::Command;

use fbuild_core::time::{ZCCACHE_COMMAND_TIMEOUT, ZCCACHE_STOP_TIMEOUT};

use crate::process::{output_with_timeout, pids_with_args, run_quiet};

/// Variables a build may carry that must not reach a long-lived daemon.
const BUILD_ONLY_VARS: &[&str] = &["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS"];

/// `zccache …` with the coordinator's controlled environment. The daemon's
/// PATH leaves out `shims` (the coordinator inherits the PATH of the build
/// that started it, often shims first): tools zccache looks up itself must
/// be the real ones, never a shim that would call back into fbuild.
pub fn command(bin: &Path, cache_dir: &Path, shims: &Path) -> Command {
    let mut cmd = Command::new(bin);
    if let Some(path) = std::env::var_os("PATH") {
        let shims = std::fs::canonicalize(shims).unwrap_or_else(|_| shims.to_path_buf());
        let kept: Vec<_> = std::env::split_paths(&path)
            .filter(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()) != shims)
            .collect();
        if let Ok(joined) = std::env::join_paths(kept) {
            cmd.env("PATH", joined);
        }
    }
    cmd.env("ZCCACHE_CACHE_DIR", cache_dir)
        .env("ZCCACHE_MAX_PARALLEL_COMPILES", "0")
        .current_dir(cache_dir);
    for var in BUILD_ONLY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Makes sure a daemon for `cache_dir` answers; returns its endpoint.
pub fn ensure(bin: &Path, cache_dir: &Path, shims: &Path) -> Result<String, String> {
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("creating {}: {e}", cache_dir.display()))?;
    if let Ok(endpoint) = status(bin, cache_dir, shims) {
        return Ok(endpoint);
    }
    start(bin, cache_dir, shims)?;
    match status(bin, cache_dir, shims) {
        Ok(endpoint) => return Ok(endpoint),
        Err(why) => {
            tracing::warn!("zccache daemon does not answer after start ({why}); restarting")
        }
    }
    stop(bin, cache_dir, shims);
    start(bin, cache_dir, shims)?;
    status(bin, cache_dir, shims)
        .map_err(|why| format!("the zccache daemon does not answer: {why}"))
}

/// `zccache status --json`: the endpoint when the daemon answers "ok".
pub fn status(bin: &Path, cache_dir: &Path, shims: &Path) -> Result<String, String> {
    let out = output_with_timeout(
        command(bin, cache_dir, shims).args(["status", "--json"]),
        ZCCACHE_COMMAND_TIMEOUT,
    )?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("zccache status --json printed no JSON ({e})"))?;
    match (json["status"].as_str(), json["endpoint"].as_str()) {
        (Some("ok"), Some(endpoint)) => Ok(endpoint.to_string()),
        _ => Err(json["error"]
            .as_str()
            .unwrap_or("status is not ok")
            .to_string()),
    }
}

fn start(bin: &Path, cache_dir: &Path, shims: &Path) -> Result<(), String> {
    run_quiet(
        command(bin, cache_dir, shims).arg("start"),
        ZCCACHE_COMMAND_TIMEOUT,
    )
}

/// `zccache stop`, then SIGKILL for any daemon of this cache dir that
/// outlived it.
pub fn stop(bin: &Path, cache_dir: &Path, shims: &Path) {
    if let Err(why) = run_quiet(
        command(bin, cache_dir, shims).arg("stop"),
        ZCCACHE_STOP_TIMEOUT,
    ) {
        tracing::warn!("zccache stop: {why}");
    }
    let cache = cache_dir.to_string_lossy();
    for pid in pids_with_args(&["--endpoint", &cache]) {
        tracing::warn!("zccache daemon {pid} survived `zccache stop`; killing it");
        #[cfg(unix)]
        // SAFETY: kill(2) on a pid whose command line names our cache dir.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}
