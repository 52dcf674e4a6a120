//! What keeps the coordinator alive: open connections and work in flight.
//!
//! Every accepted connection holds an [`ActiveGuard`] until it is done, so a
//! request that takes minutes (an install) keeps the coordinator up however
//! long the idle timeout is. This is a counter, not a flag: one request
//! finishing never marks the coordinator idle while another runs (fbuild's
//! own daemon had that bug).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    active: u64,
    /// When `active` last dropped to zero (or start-up).
    idle_since: Instant,
}

#[derive(Debug)]
pub struct Activity {
    tx: watch::Sender<Snapshot>,
}

impl Activity {
    pub fn new() -> Self {
        let (tx, _) = watch::channel(Snapshot {
            active: 0,
            idle_since: Instant::now(),
        });
        Activity { tx }
    }

    pub fn enter(self: &Arc<Self>) -> ActiveGuard {
        self.tx.send_modify(|s| s.active += 1);
        ActiveGuard(Arc::clone(self))
    }

    pub fn active(&self) -> u64 {
        self.tx.borrow().active
    }

    /// Resolves once nothing has been active for `idle`.
    pub async fn idle_for(&self, idle: Duration) {
        let mut rx = self.tx.subscribe();
        loop {
            let snap = *rx.borrow_and_update();
            if snap.active == 0 {
                let quiet = snap.idle_since.elapsed();
                if quiet >= idle {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(idle - quiet) => {}
                    _ = rx.changed() => {}
                }
            } else if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Resolves once no connection is open.
    pub async fn drained(&self) {
        let mut rx = self.tx.subscribe();
        while rx.borrow_and_update().active > 0 {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

pub struct ActiveGuard(Arc<Activity>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.tx.send_modify(|s| {
            s.active -= 1;
            if s.active == 0 {
                s.idle_since = Instant::now();
            }
        });
    }
}
