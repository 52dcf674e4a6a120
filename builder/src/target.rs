//! What an environment builds for: the core (an Arduino platform folder,
//! or the host as one), the board in it (`board =`: a PlatformIO id or an
//! FQBN, with `board_build.*`/`board_upload.*` on top) and the toolchain
//! the coordinator health-checked. The result is the environment's
//! [`Recipes`].

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fbuild_client::{Client, CoreSource, RequestError};
use fbuild_core::platform::{Kind, Platform};
use fbuild_core::protocol::CoreRequest;

use crate::target_board::{FindReferenced, board_props};
use crate::target_toolchain::toolchain;
use fbuild_platforms::arduino::{ArduinoPlatform, BoardId, Properties};

use super::recipes::{CoreDirs, Recipes};
use crate::project::EnvConfig;

pub struct Target {
    pub recipes: Recipes,
    pub core: Option<CoreDirs>,
    /// The board's name, for messages.
    pub board_name: String,
    /// The compiler's library folders (`Toolchain::link_dirs`), whose
    /// fingerprint lets the link through the cache; `None`: a core with
    /// its own compilers, or a compiler whose links may not be cached.
    pub link_dirs: Option<Vec<PathBuf>>,
    /// The compiler's flag for colours into a pipe (`Toolchain::color_flag`).
    pub color_flag: Option<String>,
}

/// Resolves `env` for a build into `out_dir`.
pub async fn resolve(
    client: &Client,
    env: &EnvConfig,
    root: &Path,
    out_dir: &Path,
) -> Result<Target> {
    let name = match env.platform.kind() {
        Kind::Archive {
            url,
            sha256: Some(sha256),
        } => return from_archive(client, env, url, sha256, out_dir).await,
        Kind::Archive { sha256: None, .. } => bail!(
            "[env:{}]: platform = {} is a core archive without a checksum; add \
             #sha256=<hex> (fbuild installs only what it can verify)",
            env.name,
            env.platform
        ),
        Kind::IndexUrl(url) => {
            let index = IndexedPlatform::Url(url.clone());
            return from_index(client, env, &index, out_dir).await;
        }
        Kind::Folder(path) => return local(env, &root.join(path), out_dir),
        Kind::IndexedCore { version, .. } => {
            let index = indexed_platform(env, version.clone())?;
            return from_index(client, env, &index, out_dir).await;
        }
        Kind::Native => None,
        Kind::Named(name) => Some(name.as_str()),
    };
    let platform = match name {
        None => ArduinoPlatform::native(),
        Some(name) => named_core(client, env, name).await?,
    };
    let board_text = match (&env.board, env.platform.is_native()) {
        // The host: its one board, with a menu option if the FQBN has one
        // (`fbuild:native:native:toolchain=tinycc`).
        (Some(b), true) => b.clone(),
        (None, true) => "fbuild:native:native".to_string(),
        (Some(b), false) => b.clone(),
        (None, false) => bail!(
            "[env:{}] needs a `board` for platform {}",
            env.name,
            env.platform
        ),
    };
    let (props, referenced) = board_props(env, &platform, &board_text, &|_| Ok(None))?;
    // One request, with the board's MCU (the host has none): the
    // coordinator checks a toolchain once per compiler and MCU.
    let mcu = props.get("build.mcu").filter(|_| name.is_some());
    let tools = match name {
        None => crate::target_toolchain::host_tools(&props),
        Some(_) => Vec::new(),
    };
    let toolchain = toolchain(
        client,
        env,
        name.unwrap_or(Platform::NATIVE),
        mcu.unwrap_or_default(),
        tools,
    )
    .await?;
    let board_name = props.get("name").unwrap_or(&board_text).to_string();
    // Toolchain quirks the coordinator probed (avr-gcc 5.4's DECIMAL_DIG),
    // fixed by flags from the compat data.
    let cxx_extra = crate::target_toolchain::cxx_quirk_flags(&toolchain);
    let mut recipes = Recipes::new(props, &flags_of(env), &env.build_unflags, cxx_extra);
    let compiler_dir = toolchain
        .cc
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let board_id = BoardId::parse(&board_text)?;
    recipes.set_runtime(&crate::runtime_props::RuntimeFacts {
        platform_dir: &platform.dir,
        core_platform_dir: referenced.as_ref().map(|r| r.dir.as_path()),
        fqbn: board_id.fqbn(),
        out_dir,
        source_dir: Some(root),
        compiler_dir: Some(&compiler_dir),
        warnings: &env.warnings,
    });
    let core = if env.platform.is_native() {
        None
    } else {
        recipes.core_dirs(&platform, referenced.as_ref())?
    };
    Ok(Target {
        recipes,
        core,
        board_name,
        link_dirs: toolchain
            .link_dirs
            .map(|d| std::env::split_paths(&d).collect()),
        color_flag: toolchain.color_flag,
    })
}

/// The Arduino core of a PlatformIO platform (`platforms/data/<name>`):
/// the system's or the managed one, as the coordinator finds it.
async fn named_core(client: &Client, env: &EnvConfig, name: &str) -> Result<ArduinoPlatform> {
    let core = fbuild_platforms::platform(name).and_then(|p| p.core.as_deref());
    let Some((vendor, arch)) = core.and_then(|c| c.split_once(':')) else {
        bail!(
            "[env:{}]: unknown platform {name:?}; known: {}, a folder with an \
             Arduino core, or the URL of a package_index.json",
            env.name,
            fbuild_platforms::platform_names().join(", ")
        );
    };
    if let Some(framework) = env.framework.as_deref().filter(|f| *f != "arduino") {
        bail!(
            "[env:{}]: framework = {framework} is not supported: fbuild builds the arduino \
             framework (framework = arduino), or none with platform = native",
            env.name
        );
    }
    let core = request_core(client, CoreSource::Platform(name.to_string()))
        .await
        .map_err(|e| in_env(env, e))?;
    Ok(ArduinoPlatform::load(&core.dir, vendor, arch)?)
}

/// A refusal of the coordinator, about `env`; fbuild's machinery failing,
/// as it is.
fn in_env(env: &EnvConfig, e: RequestError) -> anyhow::Error {
    match e {
        RequestError::Refused { message, .. } => anyhow::anyhow!("[env:{}]: {message}", env.name),
        machinery => anyhow::Error::new(machinery).context("asking the coordinator"),
    }
}

/// A core on disk, built with the compilers its platform.txt names
/// (`compiler.path`); no toolchain of the coordinator's is involved.
fn local(env: &EnvConfig, dir: &Path, out_dir: &Path) -> Result<Target> {
    let name = |p: Option<&Path>| {
        p.and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (vendor, arch) = (name(dir.parent()), name(Some(dir)));
    let platform = ArduinoPlatform::load(dir, &vendor, &arch)
        .map_err(|e| anyhow::anyhow!("[env:{}]: platform {}: {e}", env.name, dir.display()))?;
    let Some(board_text) = &env.board else {
        bail!(
            "[env:{}] needs a `board` for the core {}",
            env.name,
            dir.display()
        );
    };
    let board_text = if board_text.contains(':') {
        board_text.clone()
    } else {
        format!("{vendor}:{arch}:{board_text}")
    };
    // A referenced package is its sibling in the same hardware folder:
    // `<hardware>/<vendor>/<arch>`, as the Arduino tools lay them out.
    let siblings = dir.parent().and_then(Path::parent).map(Path::to_path_buf);
    let find = move |vendor: &str| -> Result<Option<ArduinoPlatform>> {
        let Some(hw) = &siblings else { return Ok(None) };
        let other = hw.join(vendor).join(&arch);
        if !other.join("platform.txt").is_file() {
            return Ok(None);
        }
        Ok(Some(ArduinoPlatform::load(&other, vendor, &arch)?))
    };
    own_toolchain_target(
        env,
        &platform,
        &board_text,
        out_dir,
        &Properties::default(),
        &find,
    )
}

/// `platform = <URL of a package_index.json>`: the coordinator installs
/// the core the board names (`board` is an FQBN or a PlatformIO id, whose
/// vendor and architecture pick the core) and its tools, which the core's
/// recipes find as `runtime.tools.<name>.path`.
async fn from_index(
    client: &Client,
    env: &EnvConfig,
    index: &IndexedPlatform,
    out_dir: &Path,
) -> Result<Target> {
    let fqbn = board_fqbn(env)?;
    let (index_url, core) = install_core(client, env, index, &fqbn.vendor, &fqbn.arch).await?;
    let platform = ArduinoPlatform::load(&core.dir, &fqbn.vendor, &fqbn.arch)?;
    let mut tools = Properties::default();
    for tool in &core.tools {
        let dir = tool.dir.display().to_string();
        tools.set(format!("runtime.tools.{}.path", tool.name), dir.clone());
        tools.set(
            format!("runtime.tools.{}-{}.path", tool.name, tool.version),
            dir,
        );
    }
    // A board whose core is another vendor's: that package from the same
    // index.
    let referenced_vendor = platform
        .resolve_board(&fqbn)
        .ok()
        .and_then(|b| b.props.get("build.core").map(str::to_string))
        .and_then(|c| c.split_once(':').map(|(v, _)| v.to_string()))
        .filter(|v| *v != fqbn.vendor);
    let referenced = match &referenced_vendor {
        Some(vendor) => {
            let same_index = IndexedPlatform::Url(index_url.clone());
            let (_, other) = install_core(client, env, &same_index, vendor, &fqbn.arch).await?;
            Some(ArduinoPlatform::load(&other.dir, vendor, &fqbn.arch)?)
        }
        None => None,
    };
    let find_installed = |vendor: &str| -> Result<Option<ArduinoPlatform>> {
        Ok(referenced.clone().filter(|r| r.vendor == vendor))
    };
    own_toolchain_target(
        env,
        &platform,
        &fqbn.to_string(),
        out_dir,
        &tools,
        &find_installed,
    )
}

/// A target whose core names its own compilers (`compiler.path`), with
/// `extra` properties (installed tools) on top.
fn own_toolchain_target(
    env: &EnvConfig,
    platform: &ArduinoPlatform,
    board_text: &str,
    out_dir: &Path,
    extra: &Properties,
    find_referenced: &FindReferenced,
) -> Result<Target> {
    let (mut props, referenced) = board_props(env, platform, board_text, find_referenced)?;
    props.merge(extra);
    let board_name = props.get("name").unwrap_or(board_text).to_string();
    let mut recipes = Recipes::new(props, &flags_of(env), &env.build_unflags, Vec::new());
    let board_id = BoardId::parse(board_text)?;
    recipes.set_runtime(&crate::runtime_props::RuntimeFacts {
        platform_dir: &platform.dir,
        core_platform_dir: referenced.as_ref().map(|r| r.dir.as_path()),
        fqbn: board_id.fqbn(),
        out_dir,
        source_dir: None,
        compiler_dir: None,
        warnings: &env.warnings,
    });
    let core = recipes.core_dirs(platform, referenced.as_ref())?;
    Ok(Target {
        recipes,
        core,
        board_name,
        link_dirs: None,
        color_flag: None,
    })
}

/// Where a platform comes from when it comes from a package index.
enum IndexedPlatform {
    /// `platform = <URL of a package_index.json>`.
    Url(String),
    /// `platform = vendor:arch[@version]`, looked up in `platform_index_urls`.
    Named {
        version: Option<String>,
        indexes: Vec<String>,
    },
}

/// `platform = vendor:arch[@version]` with the env's `platform_index_urls`.
fn indexed_platform(env: &EnvConfig, version: Option<String>) -> Result<IndexedPlatform> {
    if env.platform_index_urls.is_empty() {
        bail!(
            "[env:{}]: platform = {} names a core of a package index; list the index in \
             platform_index_urls (e.g. the Boards Manager URL of that core)",
            env.name,
            env.platform
        );
    }
    Ok(IndexedPlatform::Named {
        version,
        indexes: env.platform_index_urls.clone(),
    })
}

/// Installs `vendor:arch` from the index(es) `index` names; returns the
/// index that had it and the install. Indexes are tried in order; one
/// without the core (or unreachable) passes to the next.
async fn install_core(
    client: &Client,
    env: &EnvConfig,
    index: &IndexedPlatform,
    vendor: &str,
    arch: &str,
) -> Result<(String, fbuild_core::protocol::CoreInstall)> {
    let (urls, version) = match index {
        IndexedPlatform::Url(url) => (vec![url.clone()], None),
        // The board's vendor and architecture are checked against the
        // core's by board_props.
        IndexedPlatform::Named {
            version, indexes, ..
        } => (indexes.clone(), version.clone()),
    };
    let mut failures = Vec::new();
    for url in &urls {
        let request = CoreSource::Index(CoreRequest {
            index_url: url.clone(),
            packager: vendor.to_string(),
            arch: arch.to_string(),
            version: version.clone(),
        });
        match request_core(client, request).await {
            Ok(core) => return Ok((url.clone(), core)),
            // This index cannot: the next one may.
            Err(RequestError::Refused { message, .. }) => failures.push(message),
            Err(machinery) => return Err(anyhow::Error::new(machinery)),
        }
    }
    bail!("[env:{}]: {}", env.name, failures.join("; "))
}

/// A core from an archive URL, verified by its sha256; its boards are
/// `board = <id>` or FQBNs of the archive's vendor and architecture (from
/// the FQBN, else `arduino:avr`-style ids of the PlatformIO table).
async fn from_archive(
    client: &Client,
    env: &EnvConfig,
    url: &str,
    sha256: &str,
    out_dir: &Path,
) -> Result<Target> {
    let fqbn = board_fqbn(env)?;
    let request = CoreSource::Archive(fbuild_core::protocol::CoreArchiveRequest {
        url: url.to_string(),
        sha256: sha256.to_string(),
        packager: fqbn.vendor.clone(),
        arch: fqbn.arch.clone(),
    });
    let core = request_core(client, request)
        .await
        .map_err(|e| in_env(env, e))?;
    let platform = ArduinoPlatform::load(&core.dir, &fqbn.vendor, &fqbn.arch)?;
    let none = |_: &str| -> Result<Option<ArduinoPlatform>> { Ok(None) };
    own_toolchain_target(
        env,
        &platform,
        &fqbn.to_string(),
        out_dir,
        &Properties::default(),
        &none,
    )
}

/// The FQBN of the env's `board` (required for a core from an index or an
/// archive: its vendor and architecture pick the core).
fn board_fqbn(env: &EnvConfig) -> Result<fbuild_platforms::arduino::Fqbn> {
    let Some(board_text) = &env.board else {
        bail!(
            "[env:{}] needs a `board` for the core {}",
            env.name,
            env.platform
        );
    };
    let id = BoardId::parse(board_text).map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))?;
    Ok(id.fqbn().clone())
}

/// Sends a core install.
async fn request_core(
    client: &Client,
    request: CoreSource,
) -> std::result::Result<fbuild_core::protocol::CoreInstall, RequestError> {
    super::ask::ask(client, |c, on_event| c.install_core(request, on_event)).await
}

impl Target {
    /// `(core, variant, libraries)` for the source scan.
    pub fn core_layout(&self) -> Option<(PathBuf, Option<PathBuf>)> {
        self.core
            .as_ref()
            .map(|c| (c.core.clone(), c.variant.clone()))
    }

    /// The environment's platform as PlatformIO names it (library.json's
    /// `platforms`): `platform =` itself when it is such a name, else the
    /// name of the core's architecture (a package index URL with the SAMD
    /// core is `atmelsam`), else what the project wrote.
    pub fn pio_platform(&self, platform: &fbuild_core::platform::Platform) -> String {
        let by_arch = self
            .arch()
            .and_then(|a| fbuild_platforms::arduino::pio_platform_of_arch(&a));
        match (platform.kind(), by_arch) {
            (Kind::Named(_) | Kind::Native, _) | (_, None) => platform.as_str().to_string(),
            (_, Some(name)) => name.to_string(),
        }
    }

    /// The board's architecture (`avr`), when its core says.
    pub fn arch(&self) -> Option<String> {
        self.recipes
            .properties()
            .get("build.arch")
            .map(|a| a.to_ascii_lowercase())
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;

/// PlatformIO's define on every compile of a `platformio.ini` project: the
/// version of PlatformIO Core whose behaviour fbuild follows (6.1.18), so
/// that code written for PlatformIO (`#ifdef PLATFORMIO`) takes its
/// branch; then the environment's `build_flags` (which may undefine it).
pub const PLATFORMIO_DEFINE: &str = "-DPLATFORMIO=60118";

fn flags_of(env: &EnvConfig) -> Vec<String> {
    std::iter::once(PLATFORMIO_DEFINE.to_string())
        .chain(env.build_flags.iter().cloned())
        .collect()
}
