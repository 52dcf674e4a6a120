//! The managed zccache: its release layout (DESIGN.md, "Managed zccache
//! release layout"), its package spec for the install gate, its health
//! check, its daemon, and the choice between managed, ambient and none.

mod daemon;
mod manager;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use fbuild_core::Settings;
use fbuild_core::time::HEALTH_CHECK_TIMEOUT;

use crate::install::{Checksum, PackageSpec};
use crate::process::output_with_timeout;

pub use manager::ZccacheManager;

/// The zccache version fbuild installs unless `FBUILD_ZCCACHE_VERSION` says
/// otherwise. (scripts/mirror-zccache reads this line.)
pub const PINNED_VERSION: &str = "1.15.8";

/// Release downloads; the version is appended.
const RELEASE_BASE: &str = "https://github.com/zackees/zccache/releases/download/v";

/// The release target of this machine.
pub fn target() -> Result<&'static str, String> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Ok("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Ok("aarch64-unknown-linux-musl"),
        (os, arch) => Err(format!(
            "no managed zccache for {os}/{arch}; install zccache on PATH (FBUILD_ZCCACHE=ambient)"
        )),
    }
}

/// The version `settings` asks for.
pub fn version(settings: &Settings) -> String {
    settings
        .zccache_version
        .clone()
        .unwrap_or_else(|| PINNED_VERSION.to_string())
}

/// The install-gate spec of the managed zccache.
pub fn spec(settings: &Settings) -> Result<PackageSpec, String> {
    let version = version(settings);
    let target = target()?;
    let top = format!("zccache-v{version}-{target}");
    let asset = format!("{top}.tar.gz");
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
        top_dir: Some(top),
        executables: vec!["zccache".into()],
        health: Arc::new(move |root| check_version(&root.join("zccache"), Some(&health_version))),
        dest: home.tools_dir().join(format!("zccache-{version}")),
        lock_file: home.locks_dir().join(format!("zccache-{version}.lock")),
        pause: settings.install_pause,
        version,
    })
}

/// `zccache --version` must answer `zccache <version>` (any version when
/// `want` is `None`). Returns the version it printed.
pub fn check_version(bin: &Path, want: Option<&str>) -> Result<(), String> {
    probe_version(bin).and_then(|got| match want {
        Some(want) if got != want => Err(format!(
            "{} is version {got}, expected {want}",
            bin.display()
        )),
        _ => Ok(()),
    })
}

/// The version `bin --version` prints as `zccache <version>`.
pub fn probe_version(bin: &Path) -> Result<String, String> {
    let out = output_with_timeout(Command::new(bin).arg("--version"), HEALTH_CHECK_TIMEOUT)?;
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
