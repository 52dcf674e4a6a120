//! Arduino cores from package indexes (`package_index.json`): the platform
//! archive and every tool it depends on, for this host, each through the
//! install gate (one download for any number of builds, sha256 from the
//! index enforced, staged and renamed) into
//! `FBUILD_HOME/packages/<packager>/{hardware/<arch>,tools/<name>}/<version>`.

use std::path::PathBuf;
use std::sync::Arc;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{CoreInstall, CoreRequest, CoreTool, ErrorKind, Reply};
use fbuild_platforms::arduino::index::{PackageIndex, sha256_of};
use tokio::sync::mpsc::UnboundedSender;

use crate::install::{Checksum, Installer, PackageSpec, fetch, follow};

/// Largest index fbuild reads (Arduino's own is about 1 MB).
const MAX_INDEX_BYTES: u64 = 32 * 1024 * 1024;

pub struct Cores {
    settings: Settings,
    installer: Arc<Installer>,
}

impl Cores {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        Cores {
            settings,
            installer,
        }
    }

    pub async fn install(
        &self,
        req: CoreRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        match self.install_inner(&req, events).await {
            Ok(core) => Reply::Core(core),
            Err(message) => Reply::Error {
                kind: ErrorKind::InstallFailed,
                message,
            },
        }
    }

    async fn install_inner(
        &self,
        req: &CoreRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<CoreInstall, String> {
        let url = req.index_url.clone();
        let text = tokio::task::spawn_blocking(move || fetch::fetch_text(&url, MAX_INDEX_BYTES))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("reading the package index: {}", e.message))?;
        let url = &req.index_url;
        let index = PackageIndex::parse(&text, url).map_err(|e| e.to_string())?;
        let platform = index
            .platform(url, &req.packager, &req.arch, req.version.as_deref())
            .map_err(|e| e.to_string())?;
        let packages = self.settings.home.packages_dir().join(&req.packager);
        let dir = self
            .install_one(
                &format!("core-{}-{}", req.packager, req.arch),
                &platform.version,
                &resolve(url, &platform.url),
                &platform.checksum,
                packages
                    .join("hardware")
                    .join(&req.arch)
                    .join(&platform.version),
                Some("platform.txt"),
                events,
            )
            .await?;
        let mut tools = Vec::new();
        for dep in &platform.tools_dependencies {
            let system = index.tool_download(url, dep).map_err(|e| e.to_string())?;
            let tool_dir = self
                .install_one(
                    &format!("tool-{}-{}", dep.packager, dep.name),
                    &dep.version,
                    &resolve(url, &system.url),
                    &system.checksum,
                    self.settings
                        .home
                        .packages_dir()
                        .join(&dep.packager)
                        .join("tools")
                        .join(&dep.name)
                        .join(&dep.version),
                    None,
                    events,
                )
                .await?;
            tools.push(CoreTool {
                name: dep.name.clone(),
                version: dep.version.clone(),
                dir: tool_dir,
            });
        }
        Ok(CoreInstall {
            dir,
            version: platform.version.clone(),
            tools,
        })
    }

    /// One archive of the index through the gate; `must_have` is a file the
    /// unpacked package must contain.
    #[allow(clippy::too_many_arguments)]
    async fn install_one(
        &self,
        name: &str,
        version: &str,
        archive: &str,
        checksum: &str,
        dest: PathBuf,
        must_have: Option<&'static str>,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<PathBuf, String> {
        let sha = sha256_of(checksum, archive).map_err(|e| e.to_string())?;
        let spec = PackageSpec {
            name: name.to_string(),
            version: version.to_string(),
            archive_url: archive.to_string(),
            checksum: Checksum::Sha256(sha),
            top_dir: Some("*".into()),
            executables: Vec::new(),
            health: Arc::new(move |root| match must_have {
                Some(file) if !root.join(file).is_file() => {
                    Err(format!("the archive has no {file}: not an Arduino core"))
                }
                _ => Ok(()),
            }),
            lock_file: self
                .settings
                .home
                .locks_dir()
                .join(format!("{name}-{version}.lock")),
            dest,
            pause: self.settings.install_pause,
        };
        follow(self.installer.ensure(spec, false), events)
            .await
            .map_err(|e| e.to_string())
    }
}

/// `url` as written in the index, or relative to the index's folder (a
/// mirror laid out beside its index).
fn resolve(index_url: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    match index_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{url}"),
        None => url.to_string(),
    }
}
