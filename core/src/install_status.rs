//! What a client sees of an install: phase, role, bytes, message. Shared by
//! the coordinator (which produces it) and every client (which prints it).
//! The install engine itself lives in the coordinator.

use serde::{Deserialize, Serialize};

/// Phases of one install, in order (DESIGN.md, "Install gate").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallPhase {
    WaitingForLock,
    Downloading,
    Verifying,
    Extracting,
    Checking,
    Installed,
    Failed,
}

/// Whether this process does the install or waits for another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallRole {
    Installer,
    Waiter,
}

/// A snapshot of one install, as `fbuild daemon status --json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallStatus {
    pub name: String,
    pub version: String,
    pub phase: InstallPhase,
    pub role: InstallRole,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub message: String,
    pub last_error: Option<String>,
}

/// Bytes for people: `812 B`, `20.5 KB`, `1.8 MB` (seen: a library of a
/// few KB was "downloading 0.0/0.0 MB (49%)").
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1e3 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} KB", b / 1e3)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

impl InstallPhase {
    /// The phase in words, for people.
    pub fn word(self) -> &'static str {
        match self {
            InstallPhase::WaitingForLock => "waiting for lock",
            InstallPhase::Downloading => "downloading",
            InstallPhase::Verifying => "verifying",
            InstallPhase::Extracting => "extracting",
            InstallPhase::Checking => "checking",
            InstallPhase::Installed => "installed",
            InstallPhase::Failed => "failed",
        }
    }
}

impl InstallStatus {
    /// Whether people need to hear of it: not the bookkeeping of an
    /// install that is already there (its lock taken without a wait, the
    /// install checked, found installed); anything after news is news too.
    pub fn is_news(&self) -> bool {
        !matches!(
            (self.phase, self.role),
            (InstallPhase::WaitingForLock, InstallRole::Installer)
                | (InstallPhase::Checking, _)
                | (InstallPhase::Installed, _)
        )
    }

    /// One line: `zccache 1.15.8: downloading 3.1/27.5 MB (11%) - message`.
    pub fn summary(&self) -> String {
        let mut line = format!("{} {}: {}", self.name, self.version, self.phase.word());
        if self.role == InstallRole::Waiter && self.phase == InstallPhase::WaitingForLock {
            line.push_str(" (another process is installing it)");
        }
        if self.phase == InstallPhase::Downloading {
            match self.bytes_total {
                // Nothing has arrived yet: still connecting (or retrying a
                // refused connection), not "downloading 0.0 MB".
                None if self.bytes_done == 0 => line.push_str(" (connecting)"),
                Some(t) if t > 0 => line.push_str(&format!(
                    " {}/{} ({}%)",
                    size(self.bytes_done),
                    size(t),
                    self.bytes_done * 100 / t
                )),
                _ => line.push_str(&format!(" {}", size(self.bytes_done))),
            }
        }
        if !self.message.is_empty() {
            line.push_str(" - ");
            line.push_str(&self.message);
        }
        line
    }
}
