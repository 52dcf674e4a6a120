//! The coordinator's services, each owning its data: installs, the zccache
//! decision and daemon, exec plans, toolchains, port leases, and what keeps
//! the coordinator alive. Built once at start and shared by every
//! connection handler; services get only the other services they use
//! (dependencies point one way: plan → zccache → install).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fbuild_core::Settings;
use fbuild_core::protocol::{Hello, Status};
use tokio::sync::watch;

use crate::activity::Activity;
use crate::cores::Cores;
use crate::install::Installer;
use crate::libraries::Libraries;
use crate::plan::Planner;
use crate::ports::PortLeases;
use crate::sccache::SccacheManager;
use crate::toolchain::Toolchains;
use crate::warnings::WarnOnce;
use crate::zccache::ZccacheManager;

pub struct Services {
    pub hello: Hello,
    /// What this coordinator was started with (its per-coordinator
    /// settings are fixed for its life).
    pub settings: Settings,
    started: u64,
    started_at: Instant,
    pub activity: Arc<Activity>,
    pub installer: Arc<Installer>,
    pub zccache: Arc<ZccacheManager>,
    pub sccache: Arc<SccacheManager>,
    pub plans: Planner,
    pub toolchains: Toolchains,
    pub cores: Arc<Cores>,
    pub libraries: Libraries,
    pub ports: Arc<PortLeases>,
    pub warnings: Arc<WarnOnce>,
    /// Set once (with the reason) when the coordinator starts to shut down.
    pub shutdown: watch::Sender<Option<String>>,
}

impl Services {
    pub fn new(hello: Hello, settings: &Settings, started: u64, started_at: Instant) -> Self {
        let installer = Installer::new();
        // Links and archives unused for a month go, then the oldest
        // beyond the store's size (off the request path).
        // The library store's entries the same way; split calls'
        // temporary files a killed call left (`one_step`).
        let stores = [
            (
                settings.home.link_store_dir(),
                fbuild_core::link_store::USED,
            ),
            (
                settings.home.library_store_dir(),
                fbuild_core::home::LIBRARY_STORE_ENTRY,
            ),
        ];
        let one_step = fbuild_core::one_step::work_dir(&settings.home.link_store_dir());
        std::thread::spawn(move || {
            fbuild_core::link_store::prune(
                &one_step,
                fbuild_core::link_store::USED,
                fbuild_core::time::ONE_STEP_LEFTOVER_AGE,
                u64::MAX,
            );
            for (store, used) in stores {
                let freed = fbuild_core::link_store::prune(
                    &store,
                    used,
                    fbuild_core::time::LINK_STORE_MAX_AGE,
                    fbuild_core::link_store::MAX_BYTES,
                );
                tracing::info!("{}: {freed} bytes pruned", store.display());
            }
        });
        let warnings = Arc::new(WarnOnce::default());
        let runner: Arc<dyn fbuild_core::tool::Runner> = Arc::new(fbuild_core::tool::System);
        let cores = Arc::new(Cores::new(settings.clone(), Arc::clone(&installer)));
        let zccache = Arc::new(ZccacheManager::new(
            settings.clone(),
            Arc::clone(&installer),
        ));
        let sccache = Arc::new(SccacheManager::new(
            settings.clone(),
            Arc::clone(&installer),
        ));
        Services {
            hello,
            started,
            started_at,
            activity: Arc::new(Activity::new()),
            plans: Planner::new(
                settings.home.clone(),
                Arc::clone(&zccache),
                Arc::clone(&sccache),
                Arc::clone(&warnings),
                Arc::clone(&runner),
            ),
            sccache,
            toolchains: Toolchains::new(settings.clone(), Arc::clone(&cores), runner),
            cores,
            libraries: Libraries::new(settings.clone(), Arc::clone(&installer)),
            zccache,
            installer,
            ports: Arc::new(PortLeases::default()),
            warnings,
            settings: settings.clone(),
            shutdown: watch::channel(None).0,
        }
    }

    pub fn idle(&self) -> Duration {
        self.settings.idle
    }

    pub fn begin_shutdown(&self, reason: String) {
        self.shutdown.send_if_modified(|r| {
            if r.is_some() {
                return false;
            }
            tracing::info!("shutting down: {reason}");
            *r = Some(reason);
            true
        });
    }

    pub fn status(&self) -> Status {
        Status {
            pid: self.hello.pid,
            version: self.hello.version.clone(),
            protocol: self.hello.protocol,
            started: self.started,
            uptime_secs: self.started_at.elapsed().as_secs(),
            home: self.settings.home.root().display().to_string(),
            socket: self.settings.home.socket_path().display().to_string(),
            active_requests: self.activity.active(),
            idle_exit_secs: self.idle().as_secs(),
            installs: self.installer.snapshot(),
            zccache: self.zccache.current(),
            sccache: self.sccache.stats(),
            settings: self.settings.coordinator.clone(),
        }
    }
}
