//! Which zccache compiles go through (`FBUILD_ZCCACHE`), decided by the
//! coordinator and remembered with the reason:
//! * `auto`: the managed one (installed through the gate), else a healthy
//!   `zccache` on PATH, else none;
//! * `managed`, `ambient`, `off`: only that path.
//!
//! The mode is per build (it travels in each request), so a decision is
//! kept per mode. Whatever is chosen gets its daemon started by the
//! coordinator (see `daemon`). A decision is reused for ZCCACHE_RECHECK,
//! then made again by one request while the others of the wave wait for it
//! (single flight: one `zccache status` probe, not one per compile). A
//! failed managed install is remembered by the install gate, so falling
//! back costs the network once, not once per compile. A shim that saw
//! zccache fail makes the coordinator forget its decisions, so the next
//! plan checks (and restarts) the daemon.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::ZccacheChoice;
use fbuild_core::settings::ZccacheMode;
use fbuild_core::time::ZCCACHE_RECHECK;
use fbuild_core::zwire;
use tokio::sync::mpsc::UnboundedSender;

use super::{daemon, probe_version, spec, version};
use crate::install::{Installer, follow};

pub struct ZccacheManager {
    settings: Settings,
    installer: Arc<Installer>,
    decisions: Mutex<Decisions>,
    /// One decision is made at a time (single flight).
    deciding: tokio::sync::Mutex<()>,
    /// One daemon start at a time; the last daemon seen (zccache binary,
    /// endpoint).
    daemon: tokio::sync::Mutex<Option<(PathBuf, PathBuf)>>,
}

#[derive(Default)]
struct Decisions {
    by_mode: HashMap<ZccacheMode, (Instant, ZccacheChoice)>,
    /// The latest, whatever its mode (for `daemon status`).
    latest: Option<ZccacheChoice>,
}

impl ZccacheManager {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        ZccacheManager {
            settings,
            installer,
            decisions: Mutex::new(Decisions::default()),
            deciding: tokio::sync::Mutex::new(()),
            daemon: tokio::sync::Mutex::new(None),
        }
    }

    /// The latest decision, if any was made.
    pub fn current(&self) -> Option<ZccacheChoice> {
        self.lock().latest.clone()
    }

    /// The environment of zccache's client in a build (shims, `fbuild
    /// build`): [`super::exec_env`], and `ZCCACHE_NO_SPAWN=1`. The
    /// coordinator owns the daemon: a client that finds none fails at once
    /// (the compile runs without the cache and the coordinator is told)
    /// instead of starting one itself — measured with 1.15.8 under load, a
    /// client's own recovery held a compile up to its 30 s budget and left
    /// a daemon nobody stopped.
    pub fn client_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = super::exec_env(&self.settings.home);
        env.push(("ZCCACHE_NO_SPAWN".into(), "1".into()));
        env
    }

    /// Forgets every decision: the next request checks the daemon again.
    pub fn forget(&self, why: &str) {
        tracing::warn!("zccache failed in a build ({why}); checking its daemon again");
        self.lock().by_mode.clear();
    }

    /// A recent decision for `mode`, if there is one (it becomes the
    /// latest, as `daemon status` shows it).
    fn recent(&self, mode: ZccacheMode) -> Option<ZccacheChoice> {
        let mut decisions = self.lock();
        let choice = decisions
            .by_mode
            .get(&mode)
            .filter(|(at, _)| at.elapsed() < ZCCACHE_RECHECK)
            .map(|(_, c)| c.clone())?;
        decisions.latest = Some(choice.clone());
        Some(choice)
    }

    /// Decides for `mode` (or reuses a recent decision). Install progress
    /// goes to `events`. `fresh` ignores the cached decision and a
    /// remembered install failure.
    pub async fn resolve(
        &self,
        mode: ZccacheMode,
        events: &UnboundedSender<InstallStatus>,
        fresh: bool,
    ) -> ZccacheChoice {
        if !fresh && let Some(choice) = self.recent(mode) {
            return choice;
        }
        let _one = self.deciding.lock().await;
        // Whoever held the lock before us may have decided already.
        if !fresh && let Some(choice) = self.recent(mode) {
            return choice;
        }
        let choice = self.decide(mode, events, fresh).await;
        tracing::info!(source = %choice.source, reason = %choice.reason, "zccache chosen");
        let mut decisions = self.lock();
        decisions
            .by_mode
            .insert(mode, (Instant::now(), choice.clone()));
        decisions.latest = Some(choice.clone());
        choice
    }

    /// The decision for `mode` when zccache can help a build now: a
    /// recent one, or one made at once when its daemon is up (the last
    /// daemon's socket answers a ping) or its cache holds artifacts.
    /// `None`: nothing to gain now; nothing was started.
    pub async fn if_useful(
        &self,
        mode: ZccacheMode,
        events: &UnboundedSender<InstallStatus>,
    ) -> Option<ZccacheChoice> {
        if mode == ZccacheMode::Off {
            return Some(self.resolve(mode, events, false).await);
        }
        if let Some(choice) = self.recent(mode) {
            return Some(choice);
        }
        let home = self.settings.home.clone();
        let useful = tokio::task::spawn_blocking(move || {
            let up = read_last_daemon(&home).is_some_and(|(_, endpoint)| {
                matches!(
                    zwire::ping(&endpoint, fbuild_core::time::ZCCACHE_QUICK_PING),
                    Ok(()) | Err(zwire::WireError::Mismatch(_))
                )
            });
            up || cache_has_artifacts(&home.zccache_cache_dir())
        })
        .await
        .unwrap_or(true);
        if useful {
            Some(self.resolve(mode, events, false).await)
        } else {
            tracing::info!(
                "zccache's cache is empty and its daemon down: not started for this build"
            );
            None
        }
    }

    async fn decide(
        &self,
        mode: ZccacheMode,
        events: &UnboundedSender<InstallStatus>,
        fresh: bool,
    ) -> ZccacheChoice {
        let none = |reason: String| none(mode, reason);
        let with_mode = |mut c: ZccacheChoice| {
            c.mode = mode;
            c
        };
        match mode {
            ZccacheMode::Off => none("FBUILD_ZCCACHE=off".into()),
            ZccacheMode::Managed => match self.managed(events, fresh).await {
                Ok(c) => with_mode(c),
                Err(why) => none(format!("managed zccache unavailable: {why}")),
            },
            ZccacheMode::Ambient => match self.ambient().await {
                Ok(c) => with_mode(c),
                Err(why) => none(why),
            },
            ZccacheMode::Auto => match self.managed(events, fresh).await {
                Ok(c) => with_mode(c),
                Err(managed_why) => match self.ambient().await {
                    Ok(mut c) => {
                        c.reason =
                            format!("{}; managed zccache unavailable: {managed_why}", c.reason);
                        with_mode(c)
                    }
                    Err(ambient_why) => none(format!(
                        "managed zccache unavailable: {managed_why}; {ambient_why}"
                    )),
                },
            },
        }
    }

    async fn managed(
        &self,
        events: &UnboundedSender<InstallStatus>,
        retry: bool,
    ) -> Result<ZccacheChoice, String> {
        let spec = spec(&self.settings).map_err(|e| e.to_string())?;
        let dir = follow(self.installer.ensure(spec.clone(), retry), events)
            .await
            .map_err(|e| e.to_string())?;
        let bin = dir.join(super::BIN);
        let daemon = self.start_daemon(bin.clone()).await.inspect_err(|_| {
            self.installer.distrust(&spec);
        })?;
        Ok(self.choice(
            "managed",
            bin,
            version(&self.settings),
            daemon,
            "managed install".into(),
        ))
    }

    async fn ambient(&self) -> Result<ZccacheChoice, String> {
        let bin = which::which("zccache").map_err(|_| "no zccache on PATH".to_string())?;
        let (probe, home) = (bin.clone(), self.settings.home.clone());
        let version = tokio::task::spawn_blocking(move || probe_version(&probe, &home))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|why| format!("zccache on PATH is unhealthy: {why}"))?;
        let daemon = self.start_daemon(bin.clone()).await?;
        let reason = format!("zccache found on PATH at {}", bin.display());
        Ok(self.choice("ambient", bin, version, daemon, reason))
    }

    /// Starts the daemon (if it is not up); its endpoint, and whether it
    /// speaks fbuild's wire (a ping on its socket).
    async fn start_daemon(&self, bin: PathBuf) -> Result<Daemon, String> {
        let mut last = self.daemon.lock().await;
        let home = self.settings.home.clone();
        if last.is_none() {
            *last = read_last_daemon(&home);
        }
        let known = last
            .as_ref()
            .filter(|(b, _)| *b == bin)
            .map(|(_, endpoint)| endpoint.clone());
        let started = bin.clone();
        let found = tokio::task::spawn_blocking(move || {
            let endpoint = daemon::ensure(&bin, &home, known.as_deref())?;
            let wire = zwire::ping(&endpoint, fbuild_core::time::ZCCACHE_PING_TIMEOUT)
                .map_err(|e| e.to_string());
            if let Err(why) = &wire {
                tracing::warn!("compiles will use zccache's client: {why}");
            }
            Ok(Daemon { endpoint, wire })
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Ok(daemon) = &found {
            let seen = (started, daemon.endpoint.clone());
            if last.as_ref() != Some(&seen) {
                write_last_daemon(&self.settings.home, &seen);
            }
            *last = Some(seen);
        }
        found
    }

    fn choice(
        &self,
        source: &str,
        bin: PathBuf,
        version: String,
        daemon: Daemon,
        reason: String,
    ) -> ZccacheChoice {
        let compiles = match &daemon.wire {
            Ok(()) => format!(
                "direct: to the daemon's socket (zccache.v1 wire {}), no zccache process per compile",
                zwire::WIRE_VERSION
            ),
            Err(why) => format!("through zccache's client ({why})"),
        };
        let endpoint = daemon.endpoint;
        ZccacheChoice {
            wire: daemon.wire.is_ok().then_some(zwire::WIRE_VERSION),
            compiles,
            mode: ZccacheMode::Auto,
            source: source.into(),
            path: Some(bin),
            version: Some(version),
            reason,
            cache_dir: Some(self.settings.home.zccache_cache_dir()),
            endpoint: Some(endpoint),
            env: self.client_env(),
            warning: None,
        }
    }

    /// Stops every daemon a decision started (coordinator shutdown).
    pub fn stop_daemon(&self) {
        let bins: Vec<PathBuf> = {
            let decisions = self.lock();
            let mut bins: Vec<PathBuf> = decisions
                .by_mode
                .values()
                .filter_map(|(_, c)| c.path.clone())
                .chain(decisions.latest.as_ref().and_then(|c| c.path.clone()))
                .collect();
            bins.sort();
            bins.dedup();
            bins
        };
        for bin in bins {
            daemon::stop(&bin, &self.settings.home);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Decisions> {
        self.decisions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn none(mode: ZccacheMode, reason: String) -> ZccacheChoice {
    ZccacheChoice {
        mode,
        source: "none".into(),
        path: None,
        version: None,
        reason: format!("compiles run without a cache: {reason}"),
        cache_dir: None,
        endpoint: None,
        env: Vec::new(),
        wire: None,
        compiles: "with the real compiler (no cache)".into(),
        warning: None,
    }
}

/// Whether zccache's cache under `cache_dir` holds any artifact: a file
/// anywhere under a `v<version>/artifacts/` (zccache 1.15.8 keeps them in
/// `artifacts/.staged-v2/…` and `artifacts/objects/<xx>/`; a fresh cache
/// has only the empty bucket dirs, and a version dir without `artifacts/`
/// never stored one).
fn cache_has_artifacts(cache_dir: &std::path::Path) -> bool {
    fn any_file(dir: &std::path::Path, depth: u32) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| match e.file_type() {
            Ok(t) if t.is_dir() => depth > 0 && any_file(&e.path(), depth - 1),
            Ok(_) => true,
            Err(_) => false,
        })
    }
    std::fs::read_dir(cache_dir).is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| any_file(&v.path().join("artifacts"), 6))
    })
}

/// Where the last daemon seen is remembered across coordinator restarts
/// (so a new coordinator pings it instead of running `zccache status`).
fn last_daemon_file(home: &fbuild_core::Home) -> PathBuf {
    home.coordinator_dir().join("zccache-daemon.json")
}

fn read_last_daemon(home: &fbuild_core::Home) -> Option<(PathBuf, PathBuf)> {
    let text = std::fs::read(last_daemon_file(home)).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_last_daemon(home: &fbuild_core::Home, seen: &(PathBuf, PathBuf)) {
    let file = last_daemon_file(home);
    let tmp = file.with_extension("json.tmp");
    if let Ok(text) = serde_json::to_vec(seen)
        && std::fs::write(&tmp, text).is_ok()
        && std::fs::rename(&tmp, &file).is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// A running daemon as the coordinator found it.
struct Daemon {
    endpoint: PathBuf,
    /// Ok: it answers fbuild's wire; Err: why not (compiles go through
    /// zccache's own client).
    wire: Result<(), String>,
}

#[cfg(test)]
mod tests {
    use super::cache_has_artifacts;

    #[test]
    fn artifacts_in_zccache_1_15_layout() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!cache_has_artifacts(dir.path()));
        let v = dir.path().join("v1.15.8");
        std::fs::create_dir_all(dir.path().join("crash-spool")).unwrap();
        std::fs::create_dir_all(&v).unwrap();
        assert!(!cache_has_artifacts(dir.path()), "no artifacts dir yet");
        std::fs::create_dir_all(v.join("artifacts/objects/ab")).unwrap();
        assert!(!cache_has_artifacts(dir.path()), "empty buckets");
        std::fs::write(v.join("artifacts/objects/ab/cdef"), "x").unwrap();
        assert!(cache_has_artifacts(dir.path()));
        std::fs::remove_file(v.join("artifacts/objects/ab/cdef")).unwrap();
        assert!(!cache_has_artifacts(dir.path()));
        let staged = v.join("artifacts/.staged-v2/0a1b/2c3d");
        std::fs::create_dir_all(&staged).unwrap();
        std::fs::write(staged.join("output-0"), "x").unwrap();
        assert!(cache_has_artifacts(dir.path()), "staged artifacts");
    }
}
