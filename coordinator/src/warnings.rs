//! Warnings said once per window: a build of 500 files that runs without
//! the cache, or whose client sets a per-coordinator variable the running
//! coordinator does not have, hears about it once, not 500 times. The next
//! build (after the window) hears it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use fbuild_core::time::WARNING_WINDOW;

#[derive(Default)]
pub struct WarnOnce {
    said: Mutex<HashMap<String, Instant>>,
}

impl WarnOnce {
    /// `Some(text)` for the first caller in the window, `None` after.
    pub fn first(&self, text: &str) -> Option<String> {
        let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
        match said.get(text) {
            Some(at) if at.elapsed() < WARNING_WINDOW => None,
            _ => {
                said.insert(text.to_string(), Instant::now());
                Some(text.to_string())
            }
        }
    }
}
