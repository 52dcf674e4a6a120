//! The coordinator's toolchain for a target. A board's MCU is known only
//! after its core's boards.txt is read, and the core comes with the
//! toolchain; so the first request carries the MCU of the environment's
//! last build (`<build dir>/<env>/mcu`), and a second request is made only
//! when the board's MCU turns out to be another (a new board, a first
//! build). The toolchain's quirks the coordinator probed become flags here,
//! the flags themselves being the builders' compat data.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use fbuild_client::{Client, RequestError};
use fbuild_core::protocol::{Toolchain, ToolchainRequest};
use fbuild_platforms::arduino::ArduinoPlatform;

use crate::project::EnvConfig;

/// The MCU the last build of an environment used.
pub struct McuHint {
    file: PathBuf,
    known: String,
}

impl McuHint {
    pub fn new(out_dir: &Path) -> Self {
        let file = out_dir.join("mcu");
        let known = std::fs::read_to_string(&file)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        McuHint { file, known }
    }

    pub fn read(&self) -> String {
        self.known.clone()
    }

    /// Remembers `mcu` for the next build (best effort: a lost hint costs
    /// one request).
    pub fn write(&self, mcu: &str) {
        let _ = std::fs::write(&self.file, mcu);
    }
}

pub async fn toolchain(
    client: &Client,
    env: &EnvConfig,
    platform: &str,
    mcu: &str,
    framework: Option<&str>,
) -> Result<Toolchain> {
    let request = ToolchainRequest {
        platform: platform.to_string(),
        mcu: mcu.to_string(),
        framework: framework.map(str::to_string),
        path: std::env::var_os("PATH").unwrap_or_default(),
    };
    super::ask::ask(client, |c, on_event| c.toolchain(request, on_event))
        .await
        .map_err(|e| match e {
            // The coordinator's refusal is about this environment.
            RequestError::Refused { message, .. } => anyhow!("[env:{}]: {message}", env.name),
            machinery => anyhow::Error::new(machinery).context("asking the coordinator"),
        })
}

/// The flags for C++ compiles only that `tc`'s probes call for: the
/// coordinator finds a quirk, the compat data (`toolchain.<probe>.cxx_flags`)
/// says which flag fixes it.
pub fn cxx_quirk_flags(tc: &Toolchain) -> Vec<String> {
    let mut flags = Vec::new();
    if tc.cxx_needs_decimal_dig {
        flags.extend(ArduinoPlatform::toolchain_cxx_flags(
            "cxx_needs_decimal_dig",
        ));
    }
    flags
}
