//! What the coordinator knows while it runs: who it is, what keeps it
//! alive, its installs and its zccache decision. Shared by every
//! connection handler.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fbuild_core::Settings;
use fbuild_core::protocol::{Hello, Status};
use tokio::sync::watch;

use crate::activity::Activity;
use crate::install::Installer;
use crate::plan::PlanMemory;
use crate::ports::PortLeases;
use crate::toolchain::ToolchainMemory;
use crate::zccache::ZccacheManager;

pub struct State {
    pub hello: Hello,
    pub settings: Settings,
    pub socket: PathBuf,
    pub idle: Duration,
    started: u64,
    started_at: Instant,
    pub activity: Arc<Activity>,
    pub installer: Arc<Installer>,
    pub zccache: Arc<ZccacheManager>,
    pub plans: PlanMemory,
    pub toolchains: ToolchainMemory,
    pub ports: Arc<PortLeases>,
    /// Set once (with the reason) when the coordinator starts to shut down.
    pub shutdown: watch::Sender<Option<String>>,
}

impl State {
    pub fn new(hello: Hello, settings: &Settings, started: u64, started_at: Instant) -> Self {
        let installer = Installer::new();
        State {
            hello,
            socket: settings.home.socket_path(),
            idle: settings.idle,
            started,
            started_at,
            activity: Arc::new(Activity::new()),
            zccache: Arc::new(ZccacheManager::new(
                settings.clone(),
                Arc::clone(&installer),
            )),
            installer,
            plans: PlanMemory::default(),
            toolchains: ToolchainMemory::default(),
            ports: Arc::new(PortLeases::default()),
            settings: settings.clone(),
            shutdown: watch::channel(None).0,
        }
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
            socket: self.socket.display().to_string(),
            active_requests: self.activity.active(),
            idle_exit_secs: self.idle.as_secs(),
            installs: self.installer.snapshot(),
            zccache: self.zccache.current(),
        }
    }
}
