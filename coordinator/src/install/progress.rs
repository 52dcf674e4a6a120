//! Progress of one install task: the status every subscriber sees, and the
//! outcome once there is one. Written by the (blocking) install procedure,
//! read by any number of waiters through a watch channel.

use super::error::InstallError;
use std::path::PathBuf;
use std::time::Duration;

use fbuild_core::install_status::{InstallPhase, InstallRole, InstallStatus};
use fbuild_core::time::{HEARTBEAT_INTERVAL, INSTALL_BYTES_EVERY};
use tokio::sync::{mpsc, watch};

/// What a task's subscribers see.
#[derive(Debug, Clone)]
pub struct TaskState {
    pub status: InstallStatus,
    pub outcome: Option<Result<PathBuf, InstallError>>,
}

/// The install procedure's handle for reporting.
pub struct Progress {
    tx: watch::Sender<TaskState>,
    pause: Option<(InstallPhase, Duration)>,
}

impl Progress {
    pub fn new(tx: watch::Sender<TaskState>, pause: Option<(InstallPhase, Duration)>) -> Self {
        Progress { tx, pause }
    }

    /// Enters `phase`. Honours the test-only checkpoint pause.
    pub fn phase(&self, phase: InstallPhase, message: impl Into<String>) {
        let message = message.into();
        self.tx.send_modify(|s| {
            s.status.phase = phase;
            s.status.message = message;
        });
        if let Some((at, pause)) = self.pause
            && at == phase
        {
            tracing::warn!("test checkpoint: pausing {pause:?} at {phase:?}");
            std::thread::sleep(pause);
        }
    }

    pub fn role(&self, role: InstallRole, message: impl Into<String>) {
        let message = message.into();
        self.tx.send_modify(|s| {
            s.status.role = role;
            s.status.message = message;
        });
    }

    pub fn message(&self, message: impl Into<String>) {
        let message = message.into();
        self.tx.send_modify(|s| s.status.message = message);
    }

    /// Bytes so far; whether anyone still waits for the install (see
    /// [`Progress::wanted`]).
    pub fn bytes(&self, done: u64, total: Option<u64>) -> bool {
        self.tx.send_modify(|s| {
            s.status.bytes_done = done;
            s.status.bytes_total = total;
        });
        self.wanted()
    }

    /// Whether anyone still waits for the install: when nobody does, a
    /// download stops (a build given up on must not leave its download
    /// running for the next one to attach to).
    pub fn wanted(&self) -> bool {
        self.tx.receiver_count() > 0
    }
}

/// Follows a task to its outcome, sending its status into `events` on every
/// phase, role or message change, at most every [`INSTALL_BYTES_EVERY`] for
/// byte counts, and at least once per [`HEARTBEAT_INTERVAL`].
pub async fn follow(
    mut rx: watch::Receiver<TaskState>,
    events: &mpsc::UnboundedSender<InstallStatus>,
) -> Result<PathBuf, InstallError> {
    let mut last: Option<(InstallStatus, tokio::time::Instant)> = None;
    loop {
        let state = rx.borrow_and_update().clone();
        let now = tokio::time::Instant::now();
        let due = match &last {
            None => true,
            Some((prev, at)) => {
                prev.phase != state.status.phase
                    || prev.role != state.status.role
                    || prev.message != state.status.message
                    || (prev.bytes_done != state.status.bytes_done
                        && now - *at >= INSTALL_BYTES_EVERY)
                    || now - *at >= HEARTBEAT_INTERVAL
                    || state.outcome.is_some()
            }
        };
        if due {
            let _ = events.send(state.status.clone());
            last = Some((state.status.clone(), now));
        }
        if let Some(outcome) = state.outcome {
            return outcome;
        }
        let wait = match &last {
            Some((_, at)) => (*at + HEARTBEAT_INTERVAL).saturating_duration_since(now),
            None => HEARTBEAT_INTERVAL,
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() {
                return Err(InstallError::Internal("the install task ended without an outcome".into()));
            },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
