//! The coordinator client, shared by the shim and the driver. Synchronous:
//! no async runtime, nothing to set up before the first connect, so a shim
//! pays one socket round trip on the warm path.
//!
//! [`Client::request`] is connect-or-start:
//! 1. Send hello + request on one connection. A current coordinator answers.
//! 2. None there (no socket, or a dead one's): take the spawn lock, re-check,
//!    spawn one detached and wait for its readiness line (see `spawn`).
//! 3. An older coordinator answers: under the spawn lock, ask it to shut
//!    down, wait until it is gone, start ours. An older client never evicts a
//!    newer coordinator, so versions never ping-pong.
//! 4. No byte at all within the budget (not even a heartbeat): ping on a
//!    fresh connection. A live coordinator is left alone ([`ClientError::Busy`]);
//!    a dead or wedged one is killed and replaced.
//! 5. A transport failure or a replaced coordinator gets one retry after a
//!    jittered backoff.

mod answers;
mod error;
pub mod procs;
mod spawn;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

use fbuild_core::Settings;
use fbuild_core::info::CoordinatorInfo;
use fbuild_core::protocol::{Event, Hello, PROTOCOL, Reply, Request};
use fbuild_core::time::{
    PING_TIMEOUT, REQUEST_BUDGET, RETRY_BACKOFF_MAX, RETRY_BACKOFF_MIN, SHUTDOWN_WAIT,
    SPAWN_LOCK_TIMEOUT,
};
use fbuild_core::version;

pub use answers::{CoreSource, OnEvent, RequestError, ToolchainError};
pub use error::ClientError;
pub use spawn::{COORDINATOR_BIN, locate_coordinator};

use spawn::SpawnLock;
use transport::{Exchange, Header, Open, ReadFail};

/// The answer to a request and who gave it.
#[derive(Debug, Clone)]
pub struct Served {
    pub coordinator: Hello,
    pub reply: Reply,
}

#[derive(Clone)]
pub struct Client {
    settings: Settings,
    header: Header,
    budget: Duration,
    coordinator_bin: Option<PathBuf>,
}

impl Client {
    pub fn new(settings: Settings) -> Self {
        let hello = Hello {
            version: settings.version.clone(),
            protocol: PROTOCOL,
            pid: std::process::id(),
        };
        let header = Header {
            hello,
            build: settings.build(),
            coordinator: settings.coordinator.clone(),
        };
        Client {
            settings,
            header,
            budget: REQUEST_BUDGET,
            coordinator_bin: None,
        }
    }

    pub fn from_env() -> Result<Self, ClientError> {
        Ok(Client::new(Settings::from_env()?))
    }

    /// How long a request may go without a single byte from the coordinator.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Use this coordinator binary instead of looking for one.
    pub fn with_coordinator_bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.coordinator_bin = Some(bin.into());
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sends `request`, starting (or replacing) the coordinator as needed.
    pub fn request(
        &self,
        request: &Request,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Served, ClientError> {
        self.with_retry(|| {
            let exchange = self.open_current(request)?;
            self.finish(exchange, on_event)
        })
    }

    /// Sends `request` to the running coordinator only: never starts or
    /// replaces one ([`ClientError::NotRunning`] when there is none).
    pub fn request_if_running(
        &self,
        request: &Request,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Served, ClientError> {
        self.with_retry(|| {
            let exchange = self.open_plain(request)?;
            self.finish(exchange, on_event)
        })
    }

    /// Sends `request` to the running coordinator and leaves without its
    /// reply: for work the coordinator finishes on its own (starting
    /// zccache's daemon for the next build).
    pub fn send_if_running(&self, request: &Request) -> Result<(), ClientError> {
        self.open_plain(request).map(drop)
    }

    /// Makes sure a current coordinator runs; returns its hello.
    pub fn start(&self) -> Result<Hello, ClientError> {
        Ok(self.request(&Request::Ping, &mut |_| {})?.coordinator)
    }

    /// Stops the running coordinator and waits until it is gone. Returns its
    /// pid, or `None` when none was running.
    pub fn stop(&self) -> Result<Option<u32>, ClientError> {
        let served = match self.request_if_running(&Request::Shutdown, &mut |_| {}) {
            Ok(served) => served,
            Err(ClientError::NotRunning) => return Ok(None),
            Err(e) => return Err(e),
        };
        let pid = served.coordinator.pid;
        if !procs::wait_gone(pid, SHUTDOWN_WAIT) && !procs::kill_coordinator(pid, self.home_root())
        {
            return Err(ClientError::Timeout {
                what: format!("coordinator pid {pid} to exit"),
                waited: SHUTDOWN_WAIT,
            });
        }
        Ok(Some(pid))
    }

    fn home_root(&self) -> &std::path::Path {
        self.settings.home.root()
    }

    fn with_retry<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        match attempt() {
            Err(e) if e.is_transient() => {
                std::thread::sleep(jittered_backoff());
                attempt()
            }
            other => other,
        }
    }

    fn finish(
        &self,
        exchange: Exchange,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Served, ClientError> {
        let coordinator = exchange.welcome.clone();
        match exchange.finish(on_event) {
            Ok(reply) => Ok(Served { coordinator, reply }),
            Err(ReadFail::Silent) => Err(self.after_silence(Some(coordinator.pid))),
            Err(ReadFail::Other(e)) => Err(e),
        }
    }

    /// Opens `request` on a current coordinator, starting or replacing one.
    fn open_current(&self, request: &Request) -> Result<Exchange, ClientError> {
        let socket = self.settings.home.socket_path();
        match transport::open(&socket, &self.header, request, self.budget) {
            Ok(ex) if !self.is_outdated(&ex.welcome) => return Ok(ex),
            Ok(_) | Err(Open::NotRunning) => {}
            Err(Open::Silent) => return Err(self.after_silence(None)),
            Err(Open::Failed(e)) => return Err(e),
        }
        let lock = SpawnLock::acquire(&self.settings, SPAWN_LOCK_TIMEOUT)?;
        // Re-check under the lock: the previous holder may have started one.
        match self.ping()? {
            Some(running) if !self.is_outdated(&running) => {
                drop(lock);
                return self.open_plain(request);
            }
            Some(old) => self.evict(&old)?,
            None => {}
        }
        let bin = match &self.coordinator_bin {
            Some(bin) => bin.clone(),
            None => locate_coordinator()?,
        };
        spawn::start_coordinator(&self.settings, &bin)?;
        drop(lock);
        self.open_plain(request)
    }

    /// Opens `request` on whatever coordinator runs.
    fn open_plain(&self, request: &Request) -> Result<Exchange, ClientError> {
        let socket = self.settings.home.socket_path();
        match transport::open(&socket, &self.header, request, self.budget) {
            Ok(ex) => Ok(ex),
            Err(Open::NotRunning) => Err(ClientError::NotRunning),
            Err(Open::Silent) => Err(self.after_silence(None)),
            Err(Open::Failed(e)) => Err(e),
        }
    }

    /// The running coordinator's hello, or `None` when none answers.
    fn ping(&self) -> Result<Option<Hello>, ClientError> {
        match self.request_once(&Request::Ping, PING_TIMEOUT) {
            Ok(hello) => Ok(Some(hello)),
            Err(ClientError::NotRunning) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn request_once(&self, request: &Request, budget: Duration) -> Result<Hello, ClientError> {
        let socket = self.settings.home.socket_path();
        let silent = || ClientError::Timeout {
            what: "an answer from the coordinator".into(),
            waited: budget,
        };
        match transport::open(&socket, &self.header, request, budget) {
            Ok(ex) => {
                let hello = ex.welcome.clone();
                match ex.finish(&mut |_| {}) {
                    Ok(_) => Ok(hello),
                    Err(ReadFail::Silent) => Err(silent()),
                    Err(ReadFail::Other(e)) => Err(e),
                }
            }
            Err(Open::NotRunning) => Err(ClientError::NotRunning),
            Err(Open::Silent) => Err(silent()),
            Err(Open::Failed(e)) => Err(e),
        }
    }

    fn is_outdated(&self, coordinator: &Hello) -> bool {
        version::compare(&self.header.hello.version, &coordinator.version).is_gt()
    }

    /// Asks an older coordinator to go and waits until it has.
    fn evict(&self, old: &Hello) -> Result<(), ClientError> {
        let _ = self.request_once(&Request::Shutdown, PING_TIMEOUT);
        if procs::wait_gone(old.pid, SHUTDOWN_WAIT)
            || procs::kill_coordinator(old.pid, self.home_root())
        {
            return Ok(());
        }
        Err(ClientError::Timeout {
            what: format!("the older coordinator (pid {}) to exit", old.pid),
            waited: SHUTDOWN_WAIT,
        })
    }

    /// A request got no byte within the budget. Ping on a fresh connection:
    /// a live coordinator is busy and left alone; a dead or wedged one is
    /// ended so the retry starts a fresh one.
    fn after_silence(&self, pid: Option<u32>) -> ClientError {
        if let Ok(Some(_)) = self.ping() {
            return ClientError::Busy(self.budget);
        }
        let pid = pid.or_else(|| {
            CoordinatorInfo::read(&self.settings.home.info_file())
                .ok()
                .map(|i| i.pid)
        });
        if let Some(pid) = pid {
            procs::kill_coordinator(pid, self.home_root());
        }
        ClientError::Wedged(self.budget)
    }
}

/// A pause between the bounds, different per process and call, so clients
/// that failed together do not retry in lockstep.
fn jittered_backoff() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = u64::from(nanos) ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let span = (RETRY_BACKOFF_MAX - RETRY_BACKOFF_MIN).as_millis() as u64;
    RETRY_BACKOFF_MIN + Duration::from_millis(seed % span.max(1))
}
