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
