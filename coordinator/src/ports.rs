//! Serial port leases: a deploy and a monitor of the same port must not
//! fight over it. A monitor watches its port through the coordinator; an
//! upload claims the port, which pauses the monitors (they close it), and
//! releases it afterwards (they reopen it). A claim whose uploader dies is
//! released after [`PORT_CLAIM_TIMEOUT`], so a monitor never stays paused forever.

use std::collections::HashMap;
use std::sync::Mutex;

use fbuild_core::protocol::{Event, Reply};
use fbuild_core::time::{PORT_CLAIM_TIMEOUT, PORT_RELEASE_WAIT};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

#[derive(Default)]
pub struct PortLeases {
    watchers: Mutex<HashMap<String, Vec<UnboundedSender<Event>>>>,
    claims: Mutex<HashMap<String, u64>>,
}

impl PortLeases {
    /// Events for a monitor of `port`; the first tells its current state.
    pub fn watch(&self, port: &str) -> UnboundedReceiver<Event> {
        let (tx, rx) = unbounded_channel();
        let claimed = self
            .claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(port);
        let _ = tx.send(if claimed {
            Event::PortPaused
        } else {
            Event::PortResumed
        });
        self.watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(port.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// Pauses the monitors of `port`; answers once they had time to let go.
    pub async fn claim(self: &std::sync::Arc<Self>, port: &str) -> Reply {
        let generation = {
            let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            let g = claims.get(port).copied().unwrap_or(0) + 1;
            claims.insert(port.to_string(), g);
            g
        };
        let paused = self.send(port, Event::PortPaused);
        if paused > 0 {
            tokio::time::sleep(PORT_RELEASE_WAIT).await;
        }
        let (this, port_name) = (std::sync::Arc::clone(self), port.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(PORT_CLAIM_TIMEOUT).await;
            let stale = this
                .claims
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&port_name)
                == Some(&generation);
            if stale {
                tracing::warn!(
                    "the upload claim on {port_name} was never released; resuming its monitors"
                );
                this.release(&port_name);
            }
        });
        Reply::PortClaimed { paused }
    }

    pub fn release(&self, port: &str) -> Reply {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(port);
        self.send(port, Event::PortResumed);
        Reply::PortReleased
    }

    /// Sends `event` to the live watchers of `port`; returns how many.
    fn send(&self, port: &str, event: Event) -> usize {
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(list) = watchers.get_mut(port) else {
            return 0;
        };
        list.retain(|tx| tx.send(event.clone()).is_ok());
        list.len()
    }
}
