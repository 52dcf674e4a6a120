//! The coordinator's toolchain for a target, asked once the board (and so
//! its MCU) is known: the core comes from its own request, so one request
//! checks the toolchain for the right MCU (before, a toolchain request
//! also located the core, with a guessed MCU and a second request when
//! the guess was wrong). The toolchain's quirks the coordinator probed
//! become flags here, the flags themselves being the builders' compat
//! data.

use anyhow::{Result, anyhow};
use fbuild_client::{Client, RequestError};
use fbuild_core::protocol::{Toolchain, ToolchainRequest};
use fbuild_platforms::arduino::{ArduinoPlatform, Properties};

use crate::project::EnvConfig;

/// The toolchain of `platform` checked for `mcu` (empty: the compiler's
/// default target), with the tools `tools` names (the host's board
/// properties; empty: the platform's data). Its core is asked for
/// separately (`Request::PlatformCore`), so `framework` goes unset.
pub async fn toolchain(
    client: &Client,
    env: &EnvConfig,
    platform: &str,
    mcu: &str,
    tools: Vec<String>,
) -> Result<Toolchain> {
    let request = ToolchainRequest {
        platform: platform.to_string(),
        mcu: mcu.to_string(),
        framework: None,
        path: std::env::var_os("PATH").unwrap_or_default(),
        tools,
    };
    super::ask::ask(client, |c, on_event| c.toolchain(request, on_event))
        .await
        .map_err(|e| match e {
            // The coordinator's refusal is about this environment.
            RequestError::Refused { message, .. } => anyhow!("[env:{}]: {message}", env.name),
            machinery => anyhow::Error::new(machinery).context("asking the coordinator"),
        })
}

/// The host's tools as its board properties name them (`compiler.c.cmd`,
/// …: a menu picks the compiler), for [`toolchain`].
pub fn host_tools(props: &Properties) -> Vec<String> {
    ["c", "cpp", "ar", "objcopy", "size"]
        .iter()
        .map(|t| {
            props
                .get(&format!("compiler.{t}.cmd"))
                .unwrap_or_default()
                .to_string()
        })
        .collect()
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
