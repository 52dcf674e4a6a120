//! The per-coordinator settings ([`CoordinatorSettings`]): fixed when a
//! coordinator starts, and compared with a client's to say what the
//! running coordinator does not have.

use serde::{Deserialize, Serialize};

use super::DEFAULT_LOG_FILTER;
use crate::time::{DEFAULT_DOWNLOAD_STALL, DEFAULT_IDLE};

/// Settings of the coordinator itself, fixed when it starts. `None`: not
/// set (the default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorSettings {
    /// `FBUILD_ZCCACHE_VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zccache_version: Option<String>,
    /// `FBUILD_ZCCACHE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zccache_url: Option<String>,
    /// `FBUILD_PACKAGE_INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_index: Option<String>,
    /// `FBUILD_SCCACHE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sccache_url: Option<String>,
    /// `FBUILD_IDLE_SECS`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
    /// `FBUILD_LOG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// `FBUILD_UNPACK_MAX_MB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpack_max_mb: Option<u64>,
    /// `FBUILD_DOWNLOAD_STALL_SECS`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_stall_ms: Option<u64>,
    /// `FBUILD_UNPACK_MAX_FILES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpack_max_files: Option<u64>,
}

impl CoordinatorSettings {
    /// What `self` (a client's explicit settings) asks for that `running`
    /// (the coordinator's) does not have, one line per variable.
    pub fn differences(&self, running: &CoordinatorSettings) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |var: &str, want: &Option<String>, have: Option<String>| {
            if let Some(want) = want
                && Some(want) != have.as_ref()
            {
                let have = have.unwrap_or_else(|| "its default".into());
                out.push(format!("{var}={want} (the running coordinator has {have})"));
            }
        };
        check(
            "FBUILD_ZCCACHE_VERSION",
            &self.zccache_version,
            running.zccache_version.clone(),
        );
        check(
            "FBUILD_ZCCACHE_URL",
            &self.zccache_url,
            running.zccache_url.clone(),
        );
        check(
            "FBUILD_PACKAGE_INDEX",
            &self.package_index,
            running.package_index.clone(),
        );
        check(
            "FBUILD_SCCACHE_URL",
            &self.sccache_url,
            running.sccache_url.clone(),
        );
        let secs = |ms: u64| format!("{}", ms as f64 / 1000.0);
        check(
            "FBUILD_IDLE_SECS",
            &self.idle_ms.map(secs),
            Some(secs(
                running.idle_ms.unwrap_or(DEFAULT_IDLE.as_millis() as u64),
            )),
        );
        check(
            "FBUILD_LOG",
            &self.log,
            Some(
                running
                    .log
                    .clone()
                    .unwrap_or_else(|| DEFAULT_LOG_FILTER.into()),
            ),
        );
        check(
            "FBUILD_DOWNLOAD_STALL_SECS",
            &self.download_stall_ms.map(secs),
            Some(secs(
                running
                    .download_stall_ms
                    .unwrap_or(DEFAULT_DOWNLOAD_STALL.as_millis() as u64),
            )),
        );
        let number = |n: Option<u64>| n.map(|n| n.to_string());
        check(
            "FBUILD_UNPACK_MAX_MB",
            &number(self.unpack_max_mb),
            number(running.unpack_max_mb),
        );
        check(
            "FBUILD_UNPACK_MAX_FILES",
            &number(self.unpack_max_files),
            number(running.unpack_max_files),
        );
        out
    }
}
