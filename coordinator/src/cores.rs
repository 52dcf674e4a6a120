//! Arduino cores from package indexes (`package_index.json`): the platform
//! archive and every tool it depends on, for this host, each through the
//! install gate (one download for any number of builds, sha256 from the
//! index enforced, staged and renamed) into
//! `FBUILD_HOME/packages/<packager>/hardware/<arch>/<version>` (cores) and
//! `FBUILD_HOME/toolchains/<name>-<version>` (tools).
//! The toolchains service installs its managed compilers here too, from the
//! built-in index or `FBUILD_PACKAGE_INDEX`.

use std::path::PathBuf;
use std::sync::Arc;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{
    CoreArchiveRequest, CoreInstall, CoreRequest, CoreTool, ErrorKind, Reply,
};
use fbuild_platforms::arduino::index::{self, IndexPlatform, PackageIndex, sha256_of};
use tokio::sync::mpsc::UnboundedSender;

use crate::install::{Checksum, Installer, Origin, PackageSpec, UnpackLimits, fetch, follow};
use crate::package_indexes::PackageIndexes;

pub struct Cores {
    settings: Settings,
    installer: Arc<Installer>,
    indexes: PackageIndexes,
}

impl Cores {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        let indexes = PackageIndexes::new(
            settings.home.packages_dir().join(".indexes"),
            settings.download_stall,
            fbuild_core::time::PACKAGE_INDEX_TTL,
        );
        Cores {
            settings,
            installer,
            indexes,
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

    /// A core straight from an archive URL, verified by the sha256 given.
    pub async fn install_archive(
        &self,
        req: CoreArchiveRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        let hex = match fetch::sha256_hex(&req.sha256) {
            Ok(hex) => hex,
            Err(why) => {
                return Reply::Error {
                    kind: ErrorKind::InstallFailed,
                    message: format!(
                        "{}: {why}; fbuild installs only what it can verify",
                        req.url
                    ),
                };
            }
        };
        let archive = Archive {
            name: format!("core-{}-{}", req.packager, req.arch),
            // The archive's hash is its version: another archive is
            // another install.
            version: hex[..12].to_string(),
            url: req.url.clone(),
            checksum: format!("SHA-256:{hex}"),
            dest: self
                .settings
                .home
                .packages_dir()
                .join(&req.packager)
                .join("hardware")
                .join(&req.arch)
                .join(format!("sha256-{}", &hex[..12])),
            must_have: Some("platform.txt"),
        };
        let version = archive.version.clone();
        match self.install_one(archive, events).await {
            Ok(dir) => Reply::Core(CoreInstall {
                dir,
                version,
                tools: Vec::new(),
            }),
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
        let done = self.install_from_index(req, events).await;
        self.forget_index_on_error(Some(&req.index_url), done)
    }

    async fn install_from_index(
        &self,
        req: &CoreRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<CoreInstall, String> {
        let url = &req.index_url;
        let index = self.index(Some(url)).await?;
        let platform = index
            .platform(url, &req.packager, &req.arch, req.version.as_deref())
            .map_err(|e| e.to_string())?;
        let dir = self
            .install_platform(url, &req.packager, &req.arch, platform, events)
            .await?;
        let mut tools = Vec::new();
        for dep in &platform.tools_dependencies {
            tools.push(self.install_tool(&index, url, dep, events).await?);
        }
        Ok(CoreInstall {
            dir,
            version: platform.version.clone(),
            tools,
        })
    }

    /// The index at `url` (`None`: the built-in one) and what to call it.
    pub async fn index(&self, url: Option<&str>) -> Result<Arc<PackageIndex>, String> {
        match url {
            Some(url) => self.indexes.get(url).await,
            None => Ok(Arc::new(index::builtin().clone())),
        }
    }

    /// The core `packager:arch` and the one tool of its dependencies named
    /// `tool` (a managed compiler), from the index at `url` or the built-in.
    pub async fn platform_tool(
        &self,
        url: Option<&str>,
        core: &str,
        tool: &str,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<CoreTool, String> {
        let index = self.index(url).await?;
        let url = url.unwrap_or(index::BUILTIN_URL);
        let (platform, _, _) = newest(&index, url, core)?;
        let dep = platform
            .tools_dependencies
            .iter()
            .find(|d| d.name == tool)
            .ok_or_else(|| {
                format!(
                    "{url}: the platform {core} {} does not depend on a tool {tool}",
                    platform.version
                )
            })?;
        let done = self.install_tool(&index, url, dep, events).await;
        self.forget_index_on_error(Some(url), done)
    }

    /// A failed install from an index reads the index again next time (its
    /// publisher may have corrected a checksum).
    fn forget_index_on_error<T>(
        &self,
        url: Option<&str>,
        done: Result<T, String>,
    ) -> Result<T, String> {
        if done.is_err()
            && let Some(url) = url
        {
            self.indexes.forget(url);
        }
        done
    }

    /// The core `packager:arch` (newest) from the index at `url` or the
    /// built-in, without its tools (the toolchain is found separately).
    pub async fn platform_only(
        &self,
        url: Option<&str>,
        core: &str,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<PathBuf, String> {
        let index = self.index(url).await?;
        let url = url.unwrap_or(index::BUILTIN_URL);
        let (platform, packager, arch) = newest(&index, url, core)?;
        let done = self
            .install_platform(url, packager, arch, platform, events)
            .await;
        self.forget_index_on_error(Some(url), done)
    }

    async fn install_platform(
        &self,
        url: &str,
        packager: &str,
        arch: &str,
        platform: &IndexPlatform,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<PathBuf, String> {
        let packages = self.settings.home.packages_dir();
        let core = Archive {
            name: format!("core-{packager}-{arch}"),
            version: platform.version.clone(),
            url: resolve(url, &platform.url),
            checksum: platform.checksum.clone(),
            dest: packages
                .join(packager)
                .join("hardware")
                .join(arch)
                .join(&platform.version),
            must_have: Some("platform.txt"),
        };
        self.install_one(core, events).await
    }

    async fn install_tool(
        &self,
        index: &PackageIndex,
        url: &str,
        dep: &index::ToolDependency,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<CoreTool, String> {
        let system = index.tool_download(url, dep).map_err(|e| e.to_string())?;
        let tool = Archive {
            name: format!("tool-{}-{}", dep.packager, dep.name),
            version: dep.version.clone(),
            url: resolve(url, &system.url),
            checksum: system.checksum.clone(),
            // DESIGN.md's layout: tools (compilers) are toolchains.
            dest: self
                .settings
                .home
                .toolchains_dir()
                .join(format!("{}-{}", dep.name, dep.version)),
            must_have: None,
        };
        Ok(CoreTool {
            name: dep.name.clone(),
            version: dep.version.clone(),
            dir: self.install_one(tool, events).await?,
        })
    }

    /// One archive of the index through the gate.
    async fn install_one(
        &self,
        archive: Archive,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<PathBuf, String> {
        let Archive {
            name,
            version,
            url,
            checksum,
            dest,
            must_have,
        } = archive;
        let sha = sha256_of(&checksum, &url).map_err(|e| e.to_string())?;
        let spec = PackageSpec {
            name: name.clone(),
            version: version.clone(),
            archive_url: url,
            checksum: Checksum::Sha256(sha),
            origin: Origin::Archive,
            record: false,
            top_dir: Some("*".into()),
            executables: Vec::new(),
            limits: UnpackLimits::with(UnpackLimits::PACKAGE, &self.settings),
            stall: self.settings.download_stall,
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

/// The newest platform `core` (`packager:arch`) of `index`, with its
/// packager and architecture.
fn newest<'a>(
    index: &'a PackageIndex,
    url: &str,
    core: &'a str,
) -> Result<(&'a IndexPlatform, &'a str, &'a str), String> {
    let (packager, arch) = core.split_once(':').unwrap_or((core, ""));
    let platform = index
        .platform(url, packager, arch, None)
        .map_err(|e| e.to_string())?;
    Ok((platform, packager, arch))
}

/// A download of the index and where it goes.
struct Archive {
    name: String,
    version: String,
    url: String,
    checksum: String,
    dest: PathBuf,
    /// A file the unpacked package must contain.
    must_have: Option<&'static str>,
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
