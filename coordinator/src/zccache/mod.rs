//! The managed zccache: its release layout (DESIGN.md, "Managed zccache
//! release layout"), its package spec for the install gate, its health
//! check, its daemon, and the choice between managed, ambient and none.

mod daemon;
mod manager;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fbuild_core::time::HEALTH_CHECK_TIMEOUT;
use fbuild_core::tool::{self, Tool, cache_env};
use fbuild_core::{Home, Settings};

use crate::install::{Checksum, Origin, PackageSpec, UnpackLimits};

pub(crate) use daemon::status_json;
pub use manager::ZccacheManager;

/// The zccache version fbuild installs unless `FBUILD_ZCCACHE_VERSION` says
/// otherwise. (scripts/mirror-zccache reads this line.)
pub const PINNED_VERSION: &str = "1.15.8";

/// Release downloads; the version is appended.
const RELEASE_BASE: &str = "https://github.com/zackees/zccache/releases/download/v";

/// The environment every zccache process fbuild starts needs, the daemon
/// and each wrapper call alike (one list, so they always agree):
/// * `ZCCACHE_CACHE_DIR`: cache, socket and zccache's own state under
///   `FBUILD_HOME` (without it even `zccache --version` creates
///   `~/.zccache/` and a crash-spool record there — measured, 1.15.8);
/// * `KERNAL_API_CRASH_SPOOL_DIR`: its crash spool there too;
/// * `ZCCACHE_MAX_PARALLEL_COMPILES=0`: zccache otherwise runs
///   `max(1, cores-1)` compiles at once, one on a 2-core machine.
pub fn exec_env(home: &Home) -> Vec<(OsString, OsString)> {
    let cache = home.zccache_cache_dir();
    vec![
        ("ZCCACHE_CACHE_DIR".into(), cache.clone().into()),
        ("ZCCACHE_MAX_PARALLEL_COMPILES".into(), "0".into()),
        (
            "KERNAL_API_CRASH_SPOOL_DIR".into(),
            cache.join("crash-spool").into(),
        ),
    ]
}

/// `zccache …` as the coordinator runs it: the cache tool's daemon rules
/// (`fbuild_core::tool::cache_env`: no build-only variables, nothing
/// zccache cannot read, no `shims` on PATH), [`exec_env`], the cache dir
/// as cwd.
pub(crate) fn command(bin: &Path, home: &Home) -> Tool {
    let cache = home.zccache_cache_dir();
    // zccache creates it too; it must exist before it can be our cwd.
    let _ = std::fs::create_dir_all(&cache);
    cache_env::daemon(Tool::new(bin), &home.shims_dir())
        .envs(exec_env(home))
        .current_dir(&cache)
}

/// zccache's program file name on this OS.
pub const BIN: &str = if cfg!(windows) {
    "zccache.exe"
} else {
    "zccache"
};

/// No managed zccache is released for this machine.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no managed zccache for {os}/{arch}; install zccache on PATH (FBUILD_ZCCACHE=ambient)")]
pub struct NoRelease {
    pub os: &'static str,
    pub arch: &'static str,
}

/// The release target of this machine.
pub fn target() -> Result<&'static str, NoRelease> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Ok("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Ok("aarch64-unknown-linux-musl"),
        ("windows", "x86_64") => Ok("x86_64-pc-windows-msvc"),
        (os, arch) => Err(NoRelease { os, arch }),
    }
}

/// The version `settings` asks for.
pub fn version(settings: &Settings) -> String {
    settings
        .zccache_version
        .clone()
        .unwrap_or_else(|| PINNED_VERSION.to_string())
}

/// Where the managed zccache is installed (its `BIN` inside).
pub fn managed_dir(settings: &Settings) -> PathBuf {
    settings
        .home
        .tools_dir()
        .join(format!("zccache-{}", version(settings)))
}

/// The install-gate spec of the managed zccache.
pub fn spec(settings: &Settings) -> Result<PackageSpec, NoRelease> {
    let version = version(settings);
    let target = target()?;
    let top = format!("zccache-v{version}-{target}");
    // The release layout: a zip for Windows, a tar.gz elsewhere.
    let asset = format!("{top}.{}", if cfg!(windows) { "zip" } else { "tar.gz" });
    let base = settings
        .zccache_url
        .clone()
        .unwrap_or_else(|| format!("{RELEASE_BASE}{version}"));
    let base = base.trim_end_matches('/');
    let home = &settings.home;
    let health_version = version.clone();
    Ok(PackageSpec {
        name: "zccache".into(),
        archive_url: format!("{base}/{asset}"),
        checksum: Checksum::SumsFile {
            url: format!("{base}/SHA256SUMS"),
            file_name: asset,
        },
        origin: Origin::Archive,
        record: false,
        top_dir: Some(top),
        executables: vec![BIN.into()],
        limits: UnpackLimits::with(UnpackLimits::PACKAGE, settings),
        stall: settings.download_stall,
        health: {
            let home = home.clone();
            Arc::new(move |root| check_version(&root.join(BIN), Some(&health_version), &home))
        },
        dest: managed_dir(settings),
        lock_file: home.locks_dir().join(format!("zccache-{version}.lock")),
        pause: settings.install_pause,
        version,
    })
}

/// `zccache --version` must answer `zccache <version>` (any version when
/// `want` is `None`). Returns the version it printed.
pub(crate) fn check_version(bin: &Path, want: Option<&str>, home: &Home) -> Result<(), String> {
    probe_version(bin, home).and_then(|got| match want {
        Some(want) if got != want => Err(format!(
            "{} is version {got}, expected {want}",
            bin.display()
        )),
        _ => Ok(()),
    })
}

/// The version `bin --version` prints as `zccache <version>`.
pub(crate) fn probe_version(bin: &Path, home: &Home) -> Result<String, String> {
    let out = tool::run::output(&command(bin, home).arg("--version"), HEALTH_CHECK_TIMEOUT)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("zccache "))
        .map(|v| v.trim().to_string());
    match version {
        Some(v) if out.status.success() => Ok(v),
        _ => Err(format!(
            "{} --version failed ({}): {}{}",
            bin.display(),
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}
