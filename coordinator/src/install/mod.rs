//! The install gate: one engine for zccache and platform toolchains.
//!
//! * In-process single flight: one task per package key; every other
//!   request subscribes to that task's progress (a watch channel).
//! * Cross-process: the task takes the package's OS file lock before any
//!   network I/O and re-checks after it (see `run` and `transaction`).
//! * Failures are remembered for FAILURE_MEMORY: requests in that window
//!   for the same download (URL and expected checksum) get the failure at
//!   once (unless they ask to retry); a corrected index is tried at once.
//! * A verified install is remembered with its main executable's size and
//!   mtime (a package without one: its folder's): a changed one is
//!   re-checked (and reinstalled) at the next request; an unchanged one is
//!   re-checked after HEALTH_RECHECK, so a no-op build takes no lock.

mod entry_rules;
mod error;
mod extract;
pub mod fetch;
mod git;
mod git_cmd;
mod progress;
mod run;
mod spec;
mod transaction;
mod unzip;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use fbuild_core::install_status::{InstallPhase, InstallRole, InstallStatus};
use fbuild_core::time::{FAILURE_MEMORY, HEALTH_RECHECK};
use tokio::sync::watch;

pub use error::InstallError;
pub use progress::{TaskState, follow};
pub use spec::{Checksum, HealthCheck, Origin, PackageSpec, RECORD_FILE, UnpackLimits};

#[derive(Default)]
pub struct Installer {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    running: HashMap<String, watch::Sender<TaskState>>,
    /// Latest status of finished installs, for `daemon status`.
    last: BTreeMap<String, InstallStatus>,
    /// By key: when, for which download ([`download_of`]), and why.
    failures: HashMap<String, (Instant, String, InstallError)>,
    verified: HashMap<String, Verified>,
}

struct Verified {
    at: Instant,
    /// For which download ([`download_of`]): a spec pinning another
    /// checksum is checked again (a lock file's wrong pin must fail).
    download: String,
    fingerprint: Option<(u64, SystemTime)>,
    path: PathBuf,
}

impl Installer {
    pub fn new() -> Arc<Self> {
        Arc::new(Installer::default())
    }

    /// Starts or joins the install of `spec`; follow the receiver (see
    /// [`follow`]) for progress and the outcome. Needs a tokio runtime.
    pub fn ensure(
        self: &Arc<Self>,
        spec: PackageSpec,
        retry_failed: bool,
    ) -> watch::Receiver<TaskState> {
        let key = spec.key();
        let mut inner = self.lock();
        if let Some(task) = inner.running.get(&key) {
            return task.subscribe();
        }
        if !retry_failed
            && let Some((at, download, why)) = inner.failures.get(&key)
            && at.elapsed() < FAILURE_MEMORY
            && *download == download_of(&spec)
        {
            let why = InstallError::Remembered {
                why: Box::new(why.clone()),
                secs: at.elapsed().as_secs(),
            };
            return finished(&spec, InstallPhase::Failed, Err(why));
        }
        if let Some(v) = inner.verified.get(&key)
            && v.at.elapsed() < HEALTH_RECHECK
            && v.download == download_of(&spec)
            && v.fingerprint.is_some()
            && v.fingerprint == fingerprint(&spec)
        {
            return finished(&spec, InstallPhase::Installed, Ok(v.path.clone()));
        }
        let (tx, rx) = watch::channel(TaskState {
            status: status(
                &spec,
                InstallPhase::WaitingForLock,
                "waiting for the install lock".into(),
            ),
            outcome: None,
        });
        inner.running.insert(key, tx.clone());
        drop(inner);
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let progress = progress::Progress::new(tx.clone(), spec.pause);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run::run(&spec, &progress)
            }))
            .unwrap_or_else(|_| {
                Err(InstallError::Internal(
                    "the install panicked; see coordinator.log".into(),
                ))
            });
            this.finish(&spec, &tx, outcome);
        });
        rx
    }

    /// Every install this process knows of: running ones, then finished.
    pub fn snapshot(&self) -> Vec<InstallStatus> {
        let inner = self.lock();
        let mut out: Vec<InstallStatus> = inner
            .running
            .values()
            .map(|tx| tx.borrow().status.clone())
            .collect();
        out.extend(
            inner
                .last
                .iter()
                .filter(|(k, _)| !inner.running.contains_key(*k))
                .map(|(_, s)| s.clone()),
        );
        out
    }

    /// Forgets that `spec` was verified (its binary misbehaved elsewhere).
    pub fn distrust(&self, spec: &PackageSpec) {
        self.lock().verified.remove(&spec.key());
    }

    fn finish(
        &self,
        spec: &PackageSpec,
        tx: &watch::Sender<TaskState>,
        outcome: Result<PathBuf, InstallError>,
    ) {
        let key = spec.key();
        let mut inner = self.lock();
        let mut last = tx.borrow().status.clone();
        match &outcome {
            Ok(path) => {
                inner.failures.remove(&key);
                inner.verified.insert(
                    key.clone(),
                    Verified {
                        at: Instant::now(),
                        download: download_of(spec),
                        fingerprint: fingerprint(spec),
                        path: path.clone(),
                    },
                );
                last.phase = InstallPhase::Installed;
            }
            Err(why) if why.is_cancelled() => {
                tracing::info!("install of {key} stopped: {why}");
                last.phase = InstallPhase::Failed;
                last.message = why.to_string();
            }
            Err(why) => {
                tracing::warn!("install of {key} failed: {why}");
                inner.failures.insert(
                    key.clone(),
                    (Instant::now(), download_of(spec), why.clone()),
                );
                inner.verified.remove(&key);
                last.phase = InstallPhase::Failed;
                last.message = why.to_string();
                last.last_error = Some(why.to_string());
            }
        }
        inner.last.insert(key.clone(), last.clone());
        inner.running.remove(&key);
        drop(inner);
        tx.send_modify(|s| {
            s.status = last;
            s.outcome = Some(outcome);
        });
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn status(spec: &PackageSpec, phase: InstallPhase, message: String) -> InstallStatus {
    InstallStatus {
        name: spec.name.clone(),
        version: spec.version.clone(),
        phase,
        role: InstallRole::Installer,
        bytes_done: 0,
        bytes_total: None,
        message,
        last_error: None,
    }
}

/// A receiver that already holds an outcome.
fn finished(
    spec: &PackageSpec,
    phase: InstallPhase,
    outcome: Result<PathBuf, InstallError>,
) -> watch::Receiver<TaskState> {
    let mut s = status(spec, phase, String::new());
    match &outcome {
        Ok(path) => s.message = format!("installed at {}", path.display()),
        Err(why) => {
            s.message = why.to_string();
            s.last_error = Some(why.to_string());
        }
    }
    watch::channel(TaskState {
        status: s,
        outcome: Some(outcome),
    })
    .1
}

/// The size and mtime of the install's main executable, else of its
/// folder (which changes when an entry in it is added, removed or renamed).
fn fingerprint(spec: &PackageSpec) -> Option<(u64, SystemTime)> {
    let file = spec.main_executable().unwrap_or_else(|| spec.dest.clone());
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// What a remembered failure is about: the same package from another URL
/// or with another expected checksum (an index corrected after a bad
/// upload) is a new try.
fn download_of(spec: &PackageSpec) -> String {
    format!("{} {:?}", spec.archive_url, spec.checksum)
}
