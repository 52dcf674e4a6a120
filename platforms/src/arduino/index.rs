//! Arduino package indexes (`package_index.json`, the Boards Manager
//! format): packages with their platforms (url, checksum,
//! `toolsDependencies`) and tools (one download per host in `systems`).
//! fbuild installs from them through the coordinator's install gate. The
//! built-in index (`data/package_index.json`: Arduino's AVR core and
//! avr-gcc) is what a machine without Debian's packages gets.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct PackageIndex {
    pub packages: Vec<IndexPackage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IndexPackage {
    pub name: String,
    #[serde(default)]
    pub platforms: Vec<IndexPlatform>,
    #[serde(default)]
    pub tools: Vec<IndexTool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexPlatform {
    pub name: String,
    pub architecture: String,
    pub version: String,
    pub url: String,
    pub checksum: String,
    #[serde(default)]
    pub tools_dependencies: Vec<ToolDependency>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolDependency {
    pub packager: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IndexTool {
    pub name: String,
    pub version: String,
    pub systems: Vec<ToolSystem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolSystem {
    pub host: String,
    pub url: String,
    pub checksum: String,
}

/// What cannot be had from an index; says which and what there is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("{url} is not a package index: {why}")]
    Invalid { url: String, why: String },
    #[error("{url} has no platform {packager}:{arch}{}; it has: {}", version.as_ref().map(|v| format!(" {v}")).unwrap_or_default(), if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    NoPlatform {
        url: String,
        packager: String,
        arch: String,
        version: Option<String>,
        known: Vec<String>,
    },
    #[error("{url} has no tool {packager}:{name} {version}")]
    NoTool {
        url: String,
        packager: String,
        name: String,
        version: String,
    },
    #[error("{url}: tool {name} {version} has no download for this machine ({host}); it has: {}", known.join(", "))]
    NoHost {
        url: String,
        name: String,
        version: String,
        host: String,
        known: Vec<String>,
    },
    #[error(
        "{url}: checksum {checksum:?} is not SHA-256:<hex>; fbuild installs only what it can verify"
    )]
    Checksum { url: String, checksum: String },
}

impl PackageIndex {
    pub fn parse(text: &str, url: &str) -> Result<Self, IndexError> {
        serde_json::from_str(text).map_err(|e| IndexError::Invalid {
            url: url.to_string(),
            why: e.to_string(),
        })
    }

    /// The platform `packager:arch`, at `version` or the newest.
    pub fn platform(
        &self,
        url: &str,
        packager: &str,
        arch: &str,
        version: Option<&str>,
    ) -> Result<&IndexPlatform, IndexError> {
        let candidates: Vec<&IndexPlatform> = self
            .packages
            .iter()
            .filter(|p| p.name == packager)
            .flat_map(|p| &p.platforms)
            .filter(|p| p.architecture == arch)
            .collect();
        candidates
            .iter()
            .filter(|p| version.is_none_or(|v| p.version == v))
            .max_by(|a, b| compare_versions(&a.version, &b.version))
            .copied()
            .ok_or_else(|| IndexError::NoPlatform {
                url: url.to_string(),
                packager: packager.to_string(),
                arch: arch.to_string(),
                version: version.map(str::to_string),
                known: self
                    .packages
                    .iter()
                    .flat_map(|p| {
                        p.platforms
                            .iter()
                            .map(move |pl| format!("{}:{} {}", p.name, pl.architecture, pl.version))
                    })
                    .collect(),
            })
    }

    /// The download of a tool dependency for this machine.
    pub fn tool_download(
        &self,
        url: &str,
        dep: &ToolDependency,
    ) -> Result<&ToolSystem, IndexError> {
        let tool = self
            .packages
            .iter()
            .filter(|p| p.name == dep.packager)
            .flat_map(|p| &p.tools)
            .find(|t| t.name == dep.name && t.version == dep.version)
            .ok_or_else(|| IndexError::NoTool {
                url: url.to_string(),
                packager: dep.packager.clone(),
                name: dep.name.clone(),
                version: dep.version.clone(),
            })?;
        let hosts = host_names();
        tool.systems
            .iter()
            .find(|s| hosts.contains(&s.host.as_str()))
            .ok_or_else(|| IndexError::NoHost {
                url: url.to_string(),
                name: tool.name.clone(),
                version: tool.version.clone(),
                host: hosts.first().copied().unwrap_or("?").to_string(),
                known: tool.systems.iter().map(|s| s.host.clone()).collect(),
            })
    }
}

/// Where messages say the built-in index is.
pub const BUILTIN_URL: &str = "fbuild's built-in package index (platforms/data/package_index.json)";

/// The built-in index, parsed once.
pub fn builtin() -> &'static PackageIndex {
    static INDEX: std::sync::OnceLock<PackageIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        PackageIndex::parse(include_str!("../../data/package_index.json"), BUILTIN_URL)
            .expect("platforms/data/package_index.json is a valid package index")
    })
}

/// The hex of a `SHA-256:<hex>` checksum.
pub fn sha256_of(checksum: &str, url: &str) -> Result<String, IndexError> {
    checksum
        .strip_prefix("SHA-256:")
        .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| IndexError::Checksum {
            url: url.to_string(),
            checksum: checksum.to_string(),
        })
}

/// Host names this machine answers to in `systems` (the Arduino tools use
/// several spellings of one triplet).
pub fn host_names() -> Vec<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => vec!["x86_64-linux-gnu", "x86_64-pc-linux-gnu"],
        ("linux", "aarch64") => vec!["aarch64-linux-gnu", "aarch64-unknown-linux-gnu"],
        ("linux", "arm") => vec!["arm-linux-gnueabihf"],
        ("macos", "x86_64") => vec!["x86_64-apple-darwin", "i386-apple-darwin11"],
        ("macos", "aarch64") => vec!["arm64-apple-darwin", "x86_64-apple-darwin"],
        ("windows", _) => vec!["i686-mingw32", "x86_64-mingw32"],
        _ => vec![],
    }
}

/// Dotted versions compared number by number (`1.8.10` > `1.8.6`).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit())
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"packages":[{"name":"arduino","platforms":[
        {"name":"Arduino AVR Boards","architecture":"avr","version":"1.8.6","url":"avr-1.8.6.tar.bz2","archiveFileName":"avr-1.8.6.tar.bz2","checksum":"SHA-256:00","size":"1",
         "toolsDependencies":[{"packager":"arduino","name":"avr-gcc","version":"7.3.0"}]},
        {"name":"Arduino AVR Boards","architecture":"avr","version":"1.8.10","url":"avr-1.8.10.tar.bz2","checksum":"SHA-256:01","toolsDependencies":[]}],
      "tools":[{"name":"avr-gcc","version":"7.3.0","systems":[
        {"host":"x86_64-pc-linux-gnu","url":"gcc-x86.tar.bz2","archiveFileName":"x","checksum":"SHA-256:aa","size":"1"},
        {"host":"i686-mingw32","url":"gcc-win.zip","checksum":"SHA-256:bb"}]}]}]}"#;

    #[test]
    fn newest_platform_and_host_tools() {
        let index = PackageIndex::parse(INDEX, "u").unwrap();
        assert_eq!(
            index.platform("u", "arduino", "avr", None).unwrap().version,
            "1.8.10"
        );
        let old = index
            .platform("u", "arduino", "avr", Some("1.8.6"))
            .unwrap();
        let tool = index.tool_download("u", &old.tools_dependencies[0]);
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(tool.unwrap().url, "gcc-x86.tar.bz2");
        }
        let err = index
            .platform("u", "esp32", "esp32", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("arduino:avr 1.8.10"), "{err}");
        let hex = "ab".repeat(32);
        assert_eq!(sha256_of(&format!("SHA-256:{hex}"), "u").unwrap(), hex);
        assert!(sha256_of("MD5:00", "u").is_err());
    }

    #[test]
    fn builtin_index_has_the_avr_core_and_its_compiler() {
        let avr = builtin()
            .platform(BUILTIN_URL, "arduino", "avr", None)
            .unwrap();
        assert_eq!(avr.version, "1.8.6");
        assert_eq!(sha256_of(&avr.checksum, BUILTIN_URL).unwrap().len(), 64);
        let gcc = &avr.tools_dependencies[0];
        assert_eq!(gcc.name, "avr-gcc");
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            let dl = builtin().tool_download(BUILTIN_URL, gcc).unwrap();
            assert!(
                dl.url.starts_with("https://downloads.arduino.cc/"),
                "{}",
                dl.url
            );
        }
    }
}
