//! Which zccache compiles go through (`FBUILD_ZCCACHE`), decided by the
//! coordinator and remembered with the reason:
//! * `auto`: the managed one (installed through the gate), else a healthy
//!   `zccache` on PATH, else none;
//! * `managed`, `ambient`, `off`: only that path.
//!
//! Whatever is chosen gets its daemon started by the coordinator (see
//! `daemon`). The choice is reused for ZCCACHE_RECHECK; a failed managed
//! install is remembered by the install gate, so falling back costs the
//! network once, not once per compile.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::ZccacheChoice;
use fbuild_core::settings::ZccacheMode;
use fbuild_core::time::ZCCACHE_RECHECK;
use tokio::sync::mpsc::UnboundedSender;

use super::{daemon, probe_version, spec, version};
use crate::install::{Installer, follow};

pub struct ZccacheManager {
    settings: Settings,
    installer: Arc<Installer>,
    current: Mutex<Option<(Instant, ZccacheChoice)>>,
    /// One daemon start at a time.
    daemon: tokio::sync::Mutex<()>,
}

impl ZccacheManager {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        ZccacheManager {
            settings,
            installer,
            current: Mutex::new(None),
            daemon: tokio::sync::Mutex::new(()),
        }
    }

    /// The last decision, if any was made.
    pub fn current(&self) -> Option<ZccacheChoice> {
        self.lock().as_ref().map(|(_, c)| c.clone())
    }

    /// Decides (or reuses a recent decision). Install progress goes to
    /// `events`. `fresh` ignores the cached decision and a remembered
    /// install failure.
    pub async fn resolve(
        &self,
        events: &UnboundedSender<InstallStatus>,
        fresh: bool,
    ) -> ZccacheChoice {
        if !fresh
            && let Some((at, choice)) = self.lock().as_ref()
            && at.elapsed() < ZCCACHE_RECHECK
        {
            return choice.clone();
        }
        let mode = self.settings.zccache_mode;
        let choice = match mode {
            ZccacheMode::Off => self.none("FBUILD_ZCCACHE=off".into()),
            ZccacheMode::Managed => match self.managed(events, fresh).await {
                Ok(c) => c,
                Err(why) => self.none(format!("managed zccache unavailable: {why}")),
            },
            ZccacheMode::Ambient => match self.ambient().await {
                Ok(c) => c,
                Err(why) => self.none(why),
            },
            ZccacheMode::Auto => match self.managed(events, fresh).await {
                Ok(c) => c,
                Err(managed_why) => match self.ambient().await {
                    Ok(mut c) => {
                        c.reason =
                            format!("{}; managed zccache unavailable: {managed_why}", c.reason);
                        c
                    }
                    Err(ambient_why) => self.none(format!(
                        "managed zccache unavailable: {managed_why}; {ambient_why}"
                    )),
                },
            },
        };
        tracing::info!(source = %choice.source, reason = %choice.reason, "zccache chosen");
        *self.lock() = Some((Instant::now(), choice.clone()));
        choice
    }

    async fn managed(
        &self,
        events: &UnboundedSender<InstallStatus>,
        retry: bool,
    ) -> Result<ZccacheChoice, String> {
        let spec = spec(&self.settings)?;
        let dir = follow(self.installer.ensure(spec.clone(), retry), events).await?;
        let bin = dir.join("zccache");
        let endpoint = self.start_daemon(bin.clone()).await.inspect_err(|_| {
            self.installer.distrust(&spec);
        })?;
        Ok(self.choice(
            "managed",
            bin,
            version(&self.settings),
            endpoint,
            "managed install".into(),
        ))
    }

    async fn ambient(&self) -> Result<ZccacheChoice, String> {
        let bin = which::which("zccache").map_err(|_| "no zccache on PATH".to_string())?;
        let probe = bin.clone();
        let version = tokio::task::spawn_blocking(move || probe_version(&probe))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|why| format!("zccache on PATH is unhealthy: {why}"))?;
        let endpoint = self.start_daemon(bin.clone()).await?;
        let reason = format!("zccache found on PATH at {}", bin.display());
        Ok(self.choice("ambient", bin, version, endpoint, reason))
    }

    async fn start_daemon(&self, bin: PathBuf) -> Result<String, String> {
        let _one_at_a_time = self.daemon.lock().await;
        let cache = self.settings.home.zccache_cache_dir();
        let shims = self.settings.home.shims_dir();
        tokio::task::spawn_blocking(move || daemon::ensure(&bin, &cache, &shims))
            .await
            .map_err(|e| e.to_string())?
    }

    fn choice(
        &self,
        source: &str,
        bin: PathBuf,
        version: String,
        endpoint: String,
        reason: String,
    ) -> ZccacheChoice {
        ZccacheChoice {
            mode: self.settings.zccache_mode,
            source: source.into(),
            path: Some(bin.display().to_string()),
            version: Some(version),
            reason,
            cache_dir: Some(self.settings.home.zccache_cache_dir().display().to_string()),
            endpoint: Some(endpoint),
        }
    }

    fn none(&self, reason: String) -> ZccacheChoice {
        ZccacheChoice {
            mode: self.settings.zccache_mode,
            source: "none".into(),
            path: None,
            version: None,
            reason: format!("compiles run without a cache: {reason}"),
            cache_dir: None,
            endpoint: None,
        }
    }

    /// Stops the daemon of the current choice (coordinator shutdown).
    pub fn stop_daemon(&self) {
        if let Some(ZccacheChoice {
            path: Some(bin), ..
        }) = self.current()
        {
            let home = &self.settings.home;
            daemon::stop(bin.as_ref(), &home.zccache_cache_dir(), &home.shims_dir());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, ZccacheChoice)>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}
