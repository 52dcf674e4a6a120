//! Managed packages (toolchains, framework cores) as data: name → version,
//! the folder inside the archive, and a URL + sha256 per host. The built-in
//! index is `data/packages.json`; `FBUILD_PACKAGE_INDEX` may point at
//! another file of the same shape (a mirror), whose relative URLs are taken
//! against the index's own URL.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Download {
    pub url: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    #[serde(default)]
    pub description: String,
    pub version: String,
    /// The folder inside the archive that is the package root.
    pub top_dir: Option<String>,
    /// Host (`x86_64-linux`, `aarch64-linux`, or `any`) → download.
    pub hosts: BTreeMap<String, Download>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PackageIndex {
    pub packages: BTreeMap<String, Package>,
}

impl PackageIndex {
    pub fn parse(text: &str) -> Result<PackageIndex, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid package index: {e}"))
    }

    /// The package and its download for this host.
    pub fn find(&self, name: &str) -> Result<(&Package, &Download), String> {
        let package = self
            .packages
            .get(name)
            .ok_or_else(|| format!("no package {name:?} in the package index"))?;
        let download = package
            .hosts
            .get(host())
            .or_else(|| package.hosts.get("any"))
            .ok_or_else(|| format!("package {name} has no download for {}", host()))?;
        Ok((package, download))
    }
}

/// This machine as a package host key.
pub fn host() -> &'static str {
    match (std::env::consts::ARCH, std::env::consts::OS) {
        ("x86_64", "linux") => "x86_64-linux",
        ("aarch64", "linux") => "aarch64-linux",
        _ => "unsupported",
    }
}

pub fn builtin_index() -> &'static PackageIndex {
    static INDEX: OnceLock<PackageIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        PackageIndex::parse(include_str!("../data/packages.json"))
            .expect("data/packages.json is valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packages() {
        let (p, d) = builtin_index().find("framework-arduino-atmelavr").unwrap();
        assert_eq!(p.version, "1.8.6");
        assert_eq!(d.sha256.len(), 64);
        assert!(
            builtin_index()
                .find("nope")
                .unwrap_err()
                .contains("no package")
        );
    }
}
