//! The managed sccache (`FBUILD_CACHE=sccache`): a compile cache whose
//! storage can be shared between machines (Redis, S3, GCS, Azure, WebDAV,
//! memcached, GitHub Actions: the user's `SCCACHE_*` settings, which the
//! coordinator inherits from the build that started it). Installed through
//! the install gate (`tools/sccache-<version>/`), its server started and
//! owned by the coordinator (cache dir `tools/sccache-cache/`, a port of
//! this home's own), checked before every decision and restarted when it
//! died, stopped with the coordinator. A remote storage that cannot be
//! reached when the server starts: the server runs on its local cache, and
//! builds are told once per window. See `stats` for what `daemon status`
//! shows.

mod server;

use std::ffi::OsString;
use std::sync::Arc;

use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::ZccacheChoice;
use fbuild_core::{Home, Settings};
use tokio::sync::mpsc::UnboundedSender;

use crate::install::{Checksum, Installer, Origin, PackageSpec, UnpackLimits, follow};
pub use server::Stats;

/// The sccache version fbuild installs. (scripts/mirror-sccache reads this
/// line.)
pub const PINNED_VERSION: &str = "0.16.0";

/// Release downloads; the version is appended.
const RELEASE_BASE: &str = "https://github.com/mozilla/sccache/releases/download/v";

/// Variables that select a remote storage (any set: a remote is meant).
pub const REMOTE_VARS: &[&str] = &[
    "SCCACHE_REDIS",
    "SCCACHE_REDIS_ENDPOINT",
    "SCCACHE_REDIS_CLUSTER_ENDPOINTS",
    "SCCACHE_BUCKET",
    "SCCACHE_GCS_BUCKET",
    "SCCACHE_AZURE_CONNECTION_STRING",
    "SCCACHE_WEBDAV_ENDPOINT",
    "SCCACHE_MEMCACHED",
    "SCCACHE_MEMCACHED_ENDPOINT",
    "SCCACHE_GHA_ENABLED",
    "SCCACHE_OSS_BUCKET",
];

/// The release (or mirror) archive of this machine, its checksum list and
/// top folder: `<base>/sccache-v<version>-<target>.tar.gz` with
/// `<asset>.sha256` beside it.
pub fn spec(settings: &Settings) -> Result<PackageSpec, String> {
    let version = PINNED_VERSION.to_string();
    let target = crate::zccache::target()
        .map_err(|_| "no managed sccache for this machine; use FBUILD_CACHE=zccache".to_string())?;
    let top = format!("sccache-v{version}-{target}");
    let asset = format!("{top}.tar.gz");
    let base = settings
        .sccache_url
        .clone()
        .unwrap_or_else(|| format!("{RELEASE_BASE}{version}"));
    let base = base.trim_end_matches('/');
    let home = &settings.home;
    let want = version.clone();
    Ok(PackageSpec {
        name: "sccache".into(),
        archive_url: format!("{base}/{asset}"),
        checksum: Checksum::SumsFile {
            url: format!("{base}/{asset}.sha256"),
            file_name: asset,
        },
        origin: Origin::Archive,
        record: false,
        top_dir: Some(top),
        executables: vec!["sccache".into()],
        limits: UnpackLimits::with(UnpackLimits::PACKAGE, settings),
        stall: settings.download_stall,
        health: Arc::new(move |root| server::check_version(&root.join("sccache"), &want)),
        dest: home.tools_dir().join(format!("sccache-{version}")),
        lock_file: home.locks_dir().join(format!("sccache-{version}.lock")),
        pause: settings.install_pause,
        version,
    })
}

/// `SCCACHE_DIR` under the home and the home's own server port. sccache's
/// idle exit (10 min) stays: a server a crashed coordinator leaves goes by
/// itself, and one that went idle is started again at the next decision
/// (or, local, by a compile's client, and then replaced).
pub fn exec_env(home: &Home) -> Vec<(OsString, OsString)> {
    vec![
        (
            "SCCACHE_DIR".into(),
            home.tools_dir().join("sccache-cache").into(),
        ),
        ("SCCACHE_SERVER_PORT".into(), port(home).to_string().into()),
    ]
}

/// The environment of sccache's clients (each compile): [`exec_env`] with
/// every remote storage variable emptied. A client that finds no server
/// starts one itself, with its own environment; on a Redis that is down
/// such a server half-starts and the compile fails after 10 s (measured,
/// 0.16.0). Only the coordinator starts servers with the remote storage;
/// one a client starts is local, and the coordinator replaces it.
pub fn client_env(home: &Home) -> Vec<(OsString, OsString)> {
    let mut env = exec_env(home);
    for v in REMOTE_VARS {
        if std::env::var_os(v).is_some() {
            env.push(((*v).into(), OsString::new()));
        }
    }
    env
}

/// A port per home (two homes on one machine, or a user's own sccache on
/// the default 4226, must not meet): 20000–31999 by the home's hash, below
/// the ports the OS hands out for connections (Linux from 32768, Windows
/// and macOS from 49152; seen: a server that could not start, "Address in
/// use", while other programs' connections held its port).
pub(super) fn port(home: &Home) -> u16 {
    let mut h = fbuild_core::hash::Fnv1a::new();
    h.write(home.root().as_os_str().as_encoded_bytes());
    20_000 + (h.finish() % 12_000) as u16
}

pub struct SccacheManager {
    settings: Settings,
    installer: Arc<Installer>,
    /// One decision at a time; the latest, and when it was made (reused
    /// for `ZCCACHE_RECHECK`, like zccache's: a make -j wave asks once).
    latest: tokio::sync::Mutex<Option<(std::time::Instant, ZccacheChoice)>>,
    /// A Redis watch runs (see `watch_redis`).
    watching: std::sync::atomic::AtomicBool,
    /// Why the remote storage was dropped while serving, for the warning.
    lost: std::sync::Mutex<Option<(String, String)>>,
}

impl SccacheManager {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        SccacheManager {
            settings,
            installer,
            latest: tokio::sync::Mutex::new(None),
            watching: Default::default(),
            lost: Default::default(),
        }
    }

    /// Installs sccache if needed, makes sure its server answers
    /// (starting it, on the local cache if the remote storage is down) and
    /// says how compiles use it. Never fails: "none" is an answer.
    pub async fn resolve(
        self: &Arc<Self>,
        events: &UnboundedSender<InstallStatus>,
    ) -> ZccacheChoice {
        let mut latest = self.latest.lock().await;
        if let Some((at, choice)) = latest.as_ref()
            && at.elapsed() < fbuild_core::time::ZCCACHE_RECHECK
        {
            return choice.clone();
        }
        let mut choice = ZccacheChoice {
            mode: Default::default(),
            source: "sccache".into(),
            path: None,
            version: Some(PINNED_VERSION.into()),
            reason: String::new(),
            cache_dir: Some(self.settings.home.tools_dir().join("sccache-cache")),
            endpoint: None,
            env: client_env(&self.settings.home),
            wire: None,
            compiles: String::new(),
            warning: None,
        };
        let dir = match self.install(events).await {
            Ok(dir) => dir,
            Err(why) => {
                choice.source = "none".into();
                choice.reason = format!(
                    "FBUILD_CACHE=sccache, but sccache could not be installed: {why}; compiling uncached"
                );
                choice.compiles = "with the real compiler (no cache)".into();
                *latest = Some((std::time::Instant::now(), choice.clone()));
                return choice;
            }
        };
        let bin = dir.join("sccache");
        let home = self.settings.home.clone();
        let up = {
            let bin = bin.clone();
            tokio::task::spawn_blocking(move || server::ensure(&bin, &home))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        };
        match up {
            Ok(storage) => {
                if storage.location.starts_with("redis") {
                    self.watch_redis(bin.clone(), storage.location.clone());
                }
                choice.path = Some(bin);
                let lost = self.lost.lock().unwrap_or_else(|p| p.into_inner()).take();
                let went_away = lost.is_some();
                let reason = match lost {
                    Some((storage, why)) => fbuild_core::sccache_stats::went_away(&storage, &why),
                    None => storage.reason,
                };
                choice.warning = (storage.local_only || went_away).then(|| reason.clone());
                choice.reason = reason;
                choice.compiles =
                    format!("through sccache's client (storage: {})", storage.location);
            }
            Err(why) => {
                choice.source = "none".into();
                choice.reason =
                    format!("sccache's server does not start: {why}; compiling uncached");
                choice.compiles = "with the real compiler (no cache)".into();
            }
        }
        tracing::info!(source = %choice.source, reason = %choice.reason, "sccache decided");
        *latest = Some((std::time::Instant::now(), choice.clone()));
        choice
    }

    async fn install(
        &self,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<std::path::PathBuf, String> {
        let spec = spec(&self.settings)?;
        follow(self.installer.ensure(spec, false), events)
            .await
            .map_err(|e| e.to_string())
    }

    /// Stats of the running server (`None`: never started or not up).
    pub fn stats(&self) -> Option<Stats> {
        let bin = self
            .settings
            .home
            .tools_dir()
            .join(format!("sccache-{PINNED_VERSION}/sccache"));
        bin.is_file()
            .then(|| server::stats(&bin, &self.settings.home).ok())
            .flatten()
    }

    /// A build said the storage went away: the next decision need not.
    pub fn told(&self) {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Stops the server this coordinator started (coordinator shutdown).
    pub fn stop(&self) {
        let bin = self
            .settings
            .home
            .tools_dir()
            .join(format!("sccache-{PINNED_VERSION}/sccache"));
        if bin.is_file() {
            server::stop(&bin, &self.settings.home);
        }
    }
}

impl SccacheManager {
    /// While a server runs on a Redis storage: probes Redis every second;
    /// when it stops answering, the server is killed (its clients compile
    /// locally at once instead of waiting a minute per compile on the dead
    /// Redis) and started again on the local cache; the next decision
    /// carries the warning. One watch per coordinator.
    fn watch_redis(self: &Arc<Self>, bin: std::path::PathBuf, storage: String) {
        if server::redis_problem().is_some()
            || self
                .watching
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(fbuild_core::time::REDIS_WATCH_EVERY).await;
                let down = tokio::task::spawn_blocking(server::redis_problem)
                    .await
                    .ok()
                    .flatten();
                let Some(why) = down else { continue };
                tracing::warn!("{why}: restarting sccache's server on its local cache");
                // Known before the server changes: a build that sees the
                // change and says so first tells us (`told`).
                *this.lost.lock().unwrap_or_else(|p| p.into_inner()) = Some((storage, why));
                let (bin2, home) = (bin.clone(), this.settings.home.clone());
                // Killed, then started on the local cache at once (a compile's
                // client may have started a local one first: then that serves).
                let restarted = tokio::task::spawn_blocking(move || {
                    server::kill(&bin2, &home);
                    server::start(&bin2, &home, true)
                })
                .await;
                match restarted {
                    Ok(Ok(())) => tracing::info!("sccache's server runs on its local cache"),
                    Ok(Err(e)) => {
                        tracing::info!("sccache's local start: {e} (a client's may serve)")
                    }
                    Err(e) => tracing::warn!("sccache's restart failed: {e}"),
                }
                // The next decision sees the local server, and says why.
                *this.latest.lock().await = None;
                this.watching
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                return;
            }
        });
    }
}
