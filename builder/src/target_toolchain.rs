//! The coordinator's toolchain for a target. A board's MCU is known only
//! after its core's boards.txt is read, and the core comes with the
//! toolchain; so the first request carries the MCU of the environment's
//! last build (`<build dir>/<env>/mcu`), and a second request is made only
//! when the board's MCU turns out to be another (a new board, a first
//! build).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fbuild_client::Client;
use fbuild_core::protocol::{Reply, Request, Toolchain, ToolchainRequest};

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
    let request = Request::Toolchain(ToolchainRequest {
        platform: platform.to_string(),
        mcu: mcu.to_string(),
        framework: framework.map(str::to_string),
        path: std::env::var_os("PATH").unwrap_or_default(),
    });
    match super::ask::ask(client, request).await? {
        Reply::Toolchain(tc) => Ok(tc),
        Reply::Error { message, .. } => bail!("[env:{}]: {message}", env.name),
        other => bail!("unexpected answer to a toolchain request: {other:?}"),
    }
}
