//! PlatformIO platforms as data (`data/<platform>.json`, embedded at build
//! time): the tool names of each platform's toolchain, which the
//! coordinator looks for and health-checks and the shims stand in for.
//! Boards are not here: they come from the core's boards.txt (see
//! `arduino`).

use std::sync::OnceLock;

use fbuild_core::platform::Platform;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ToolNames {
    pub cc: String,
    pub cxx: String,
    pub ar: String,
    pub ld: String,
    pub objcopy: String,
    pub size: String,
    /// How the compiler is told the MCU (`{mcu}` is replaced), for the
    /// coordinator's health check; none: the compiler's default target.
    #[serde(default)]
    pub mcu_flag: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformData {
    pub name: String,
    pub description: String,
    pub toolchain: ToolNames,
    pub frameworks: Vec<String>,
    /// The Arduino core (`vendor:arch`) its `arduino` framework builds with.
    #[serde(default)]
    pub core: Option<String>,
    /// Debian packages of the toolchain, for the hint when it is missing.
    #[serde(default)]
    pub debian_packages: Option<String>,
    /// What to do when the toolchain is missing, where `apt-get` is not
    /// the answer (the host on Windows); else the Debian packages say it.
    #[serde(default)]
    pub tools_hint: Option<String>,
    /// The core as a system package installs it, the first choice.
    #[serde(default)]
    pub system_core: Option<SystemCore>,
    /// What the package index (built-in or `FBUILD_PACKAGE_INDEX`) gives
    /// when the system has no toolchain or core.
    #[serde(default)]
    pub managed: Option<ManagedPackages>,
    /// A shim stands for the tool of its own name (the host: `gcc` runs
    /// gcc), not for the platform's `toolchain` names.
    #[serde(default)]
    pub tools_as_invoked: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SystemCore {
    pub dir: String,
    pub debian_package: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManagedPackages {
    /// The compiler: a tool among the `toolsDependencies` of `core`'s
    /// platform in the index (`avr-gcc`); its `bin/` holds the tools.
    pub toolchain: String,
}

/// How a platform's data is read.
type ReadData = fn() -> PlatformData;

/// Every platform, by name, with how its data is read: parsed when first
/// asked for, one platform at a time (a shim asks for one, on its own
/// start-up path).
const SOURCES: &[(&str, ReadData)] = &[
    (Platform::NATIVE, native),
    ("atmelavr", || json(include_str!("../data/atmelavr.json"))),
];

fn json(text: &str) -> PlatformData {
    serde_json::from_str(text).expect("platform data in platforms/data is valid")
}

/// The host as a platform, from the same file its recipes come from
/// (`data/native/platform.txt`: its tools and fbuild's own keys).
fn native() -> PlatformData {
    let host = crate::arduino::native_platform_txt();
    let get = |key: &str| {
        host.get(key)
            .unwrap_or_else(|| panic!("data/native/platform.txt sets {key}"))
            .to_string()
    };
    PlatformData {
        name: Platform::NATIVE.to_string(),
        description: get("name"),
        toolchain: ToolNames {
            cc: get("compiler.c.cmd"),
            cxx: get("compiler.cpp.cmd"),
            ar: get("compiler.ar.cmd"),
            ld: get("fbuild.tool.ld"),
            objcopy: get("compiler.objcopy.cmd"),
            size: get("compiler.size.cmd"),
            mcu_flag: None,
        },
        frameworks: Vec::new(),
        core: None,
        debian_packages: Some(get("fbuild.debian_packages")).filter(|p| !p.is_empty()),
        tools_hint: host.get("fbuild.tools_hint").map(str::to_string),
        system_core: None,
        managed: None,
        tools_as_invoked: get("fbuild.tools_as_invoked") == "true",
    }
}

/// The data of a platform (the host's included).
pub fn platform(name: &str) -> Option<&'static PlatformData> {
    static PARSED: [OnceLock<PlatformData>; SOURCES.len()] =
        [const { OnceLock::new() }; SOURCES.len()];
    let at = SOURCES.iter().position(|(known, _)| *known == name)?;
    Some(PARSED[at].get_or_init(SOURCES[at].1))
}

/// Every platform name, `native` first.
pub fn platform_names() -> Vec<&'static str> {
    SOURCES.iter().map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_load() {
        let avr = platform("atmelavr").unwrap();
        assert_eq!(avr.toolchain.cc, "avr-gcc");
        assert_eq!(platform_names(), vec!["native", "atmelavr"]);
        assert!(platform("esp32").is_none());
        let host = platform("native").unwrap();
        assert_eq!(
            (host.toolchain.cc.as_str(), host.toolchain.size.as_str()),
            ("cc", "size")
        );
        assert!(host.tools_as_invoked && host.managed.is_none());
    }
}
