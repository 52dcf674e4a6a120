//! Remembered plans: a warm shim skips the coordinator round trip.
//!
//! After the coordinator answers a plan that sends compiles straight to
//! zccache's daemon (and carries no warning), the shim keeps it in
//! `FBUILD_HOME/coordinator/plans/<key>.json`, keyed by everything the plan
//! was made from: the tool name, FBUILD_PLATFORM, PATH (and the cwd when
//! PATH has relative entries), the shim binary, the `-MP` question and the
//! settings a request carries (`FBUILD_ZCCACHE`, `FBUILD_CACHE`, the
//! coordinator's). A remembered plan is used only while
//! * it is younger than [`REMEMBERED_PLAN_AGE`] (so a build still talks to the
//!   coordinator every few seconds: it stays alive and re-checks the
//!   daemon, and nothing stale lives long),
//! * the real tool is the same file (device, inode, mtime), and
//! * the daemon's socket is the same file: a restarted daemon, or a
//!   reinstalled zccache, binds a new one.
//!
//! Otherwise, or when anything about the file is off, the shim asks the
//! coordinator as usual. Files are written whole and renamed into place.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fbuild_core::Settings;
use fbuild_core::hash::Fnv1a;
use fbuild_core::protocol::Plan;
use fbuild_core::stamp::FileStamp;
use fbuild_core::time::REMEMBERED_PLAN_AGE;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Remembered {
    plan: Plan,
    real: FileStamp,
    endpoint: FileStamp,
}

/// Where the plan for this call is remembered.
pub fn slot(
    settings: &Settings,
    tool: &str,
    shim: Option<&Path>,
    wants_phony: bool,
    wants_color: bool,
) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut h = Fnv1a::new();
    for part in [
        tool.as_bytes(),
        settings.platform.as_bytes(),
        path.as_encoded_bytes(),
        shim.map(|s| s.as_os_str().as_encoded_bytes())
            .unwrap_or_default(),
        &[u8::from(wants_phony) | (u8::from(wants_color) << 1)],
        settings.zccache_mode.as_str().as_bytes(),
        // FBUILD_CACHE=none right after a cached call is no cache.
        serde_json::to_string(&settings.cache)
            .unwrap_or_default()
            .as_bytes(),
        serde_json::to_string(&settings.coordinator)
            .unwrap_or_default()
            .as_bytes(),
    ] {
        h.write(part);
        h.write(&[0]);
    }
    if std::env::split_paths(&path).any(|d| d.is_relative()) {
        h.write(
            std::env::current_dir()
                .unwrap_or_default()
                .as_os_str()
                .as_encoded_bytes(),
        );
    }
    settings
        .home
        .plans_dir()
        .join(format!("{:016x}.json", h.finish()))
}

/// The plan remembered in `slot`, if it is still good.
pub fn recall(slot: &Path) -> Option<Plan> {
    let meta = std::fs::metadata(slot).ok()?;
    let age = SystemTime::now()
        .duration_since(meta.modified().ok()?)
        .unwrap_or(Duration::MAX);
    if age > REMEMBERED_PLAN_AGE {
        return None;
    }
    let text = std::fs::read(slot).ok()?;
    let r: Remembered = serde_json::from_slice(&text).ok()?;
    let endpoint = r.plan.zccache_endpoint.as_deref()?;
    (FileStamp::of(&r.plan.real)? == r.real && FileStamp::of(endpoint)? == r.endpoint)
        .then_some(r.plan)
}

/// Remembers `plan` in `slot` when it is worth it (a direct-wire plan
/// without a warning). Failures are ignored: the next call asks again.
pub fn keep(slot: &Path, plan: &Plan) {
    if plan.warning.is_some() {
        return;
    }
    let Some(endpoint) = plan.zccache_endpoint.as_deref() else {
        return;
    };
    let (Some(real), Some(endpoint)) = (FileStamp::of(&plan.real), FileStamp::of(endpoint)) else {
        return;
    };
    let r = Remembered {
        plan: plan.clone(),
        real,
        endpoint,
    };
    let Ok(text) = serde_json::to_vec(&r) else {
        return;
    };
    let Some(dir) = slot.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{}.{}", std::process::id(), nanos()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, slot).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Forgets the plan in `slot` (it failed).
pub fn forget(slot: &Path) {
    let _ = std::fs::remove_file(slot);
}

fn nanos() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}
