//! Library dependencies (`lib_deps`) as PlatformIO has them: entries read
//! (`spec`), versions and ranges (`version`), library manifests
//! (`manifest`), resolution through the coordinator's indexes and store
//! (`resolve`), and the project's `fbuild.lock` (`lockfile`): used when it
//! matches `lib_deps`, written when resolution changes it, and enforced by
//! `--locked`. With everything locked and stored, no network is used.

pub mod lockfile;
pub mod manifest;
mod resolve;
mod spec;
mod version;

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use fbuild_core::protocol::LibraryInstall;

use crate::report::{self, Kind};
use lockfile::{EnvLock, LockFile, Locked};
pub use resolve::{Context, Resolved};

/// Default PlatformIO registry API (`Settings::registry_url`, from
/// `FBUILD_REGISTRY_URL`, overrides it).
pub const REGISTRY_URL: &str = "https://api.registry.platformio.org";
/// Default Arduino library index (`Settings::library_index`, from
/// `FBUILD_LIBRARY_INDEX`, overrides it).
pub const ARDUINO_INDEX_URL: &str = "https://downloads.arduino.cc/libraries/library_index.json";

/// How the lock file is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Use it while it matches `lib_deps`; re-resolve (keeping its
    /// versions where they still fit) and rewrite it when not.
    Use,
    /// `--locked`: a lock that does not match is an error.
    Locked,
    /// `fbuild lib update`: resolve afresh and rewrite it.
    Update,
}

/// The library folders `lib_deps` of `env` resolve to (the lock file
/// updated as `mode` says).
pub async fn prepare(
    cx: &mut Context<'_>,
    env: &str,
    lib_deps: &[String],
    mode: LockMode,
) -> Result<Vec<Resolved>> {
    let mut lock = LockFile::load(cx.root).map_err(|e| anyhow!(e))?;
    let entry = lock.as_ref().and_then(|l| l.environments.get(env)).cloned();
    if lib_deps.is_empty() && entry.is_none() {
        return Ok(Vec::new());
    }
    let drift = entry.as_ref().map(|e| e.drift(lib_deps));
    if let (Some(None), LockMode::Use | LockMode::Locked) = (&drift, mode) {
        return from_lock(cx, entry.as_ref().unwrap()).await;
    }
    if mode == LockMode::Locked {
        let why = match drift.flatten() {
            Some(why) => why,
            None => format!("it has no entry for [env:{env}]"),
        };
        bail!(
            "{} is out of date: {why}. Run `fbuild lib update` (or build without --locked) to re-resolve.",
            cx.root.join(lockfile::FILE_NAME).display()
        );
    }
    if mode == LockMode::Use
        && let Some(e) = &entry
    {
        cx.prefer = e
            .libraries
            .iter()
            .filter_map(|l| Some((l.name.to_lowercase(), l.version.clone()?)))
            .collect();
    }
    let deps = lib_deps
        .iter()
        .map(|d| spec::parse(d, cx.root).map_err(|e| anyhow!("[env:{env}] lib_deps: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let resolved = resolve::resolve(cx, &deps).await?;
    let lock = lock.get_or_insert_with(LockFile::default);
    if lib_deps.is_empty() {
        lock.environments.remove(env);
    } else {
        lock.environments.insert(
            env.to_string(),
            EnvLock {
                lib_deps: lib_deps.to_vec(),
                libraries: resolved.iter().map(|r| r.locked.clone()).collect(),
            },
        );
    }
    if lock.save(cx.root).map_err(|e| anyhow!(e))? {
        report::say(
            Kind::Note,
            format!(
                "fbuild: [{env}] {} resolved; wrote {}",
                fbuild_core::words::count(resolved.len(), "library", "libraries"),
                lockfile::FILE_NAME
            ),
        );
    }
    Ok(resolved)
}

/// Every library the lock pins, from the store (fetched by its pin if
/// missing), without asking any index.
async fn from_lock(cx: &Context<'_>, entry: &EnvLock) -> Result<Vec<Resolved>> {
    let mut out = Vec::new();
    for l in &entry.libraries {
        let mut locked = l.clone();
        let dir = match l.source.as_str() {
            "path" => {
                let path = cx.root.join(l.path.clone().unwrap_or_default());
                if !path.is_dir() {
                    bail!("{}: locked library {} at {} is gone", lockfile::FILE_NAME, l.name, path.display());
                }
                path
            }
            "builtin" => cx.local.get(&l.name.to_lowercase()).cloned().ok_or_else(|| {
                anyhow!("{}: library {} was the core's own and is not there any more; run `fbuild lib update`", lockfile::FILE_NAME, l.name)
            })?,
            _ => match resolve::store(cx, pinned(l)?, &mut locked).await {
                // What the lock pins is not what is served: the lock is
                // named (other failures are the network's, said as such).
                Err(e) if format!("{e:#}").contains("checksum mismatch") => {
                    return Err(e).with_context(|| {
                        format!(
                            "{}: library {} is pinned to sha256 {} (`fbuild lib update` pins what \
                             it is now, if it changed on purpose)",
                            lockfile::FILE_NAME,
                            l.name,
                            l.sha256.as_deref().unwrap_or("none")
                        )
                    });
                }
                // The pinned commit is gone from its repository (a branch
                // force-pushed, a tag moved).
                Err(e) if l.commit.is_some() && format!("{e:#}").contains("has no tag, branch or commit") => {
                    return Err(e).with_context(|| {
                        format!(
                            "{}: library {} is pinned to commit {}, which its repository no \
                             longer has (`fbuild lib update` pins what it has now)",
                            lockfile::FILE_NAME,
                            l.name,
                            l.commit.as_deref().unwrap_or_default()
                        )
                    });
                }
                other => other?,
            },
        };
        out.push(Resolved { locked, dir });
    }
    Ok(out)
}

/// The install request that fetches exactly what `l` pins.
fn pinned(l: &Locked) -> Result<LibraryInstall> {
    let url = l
        .url
        .clone()
        .ok_or_else(|| anyhow!("{}: library {} has no url", lockfile::FILE_NAME, l.name))?;
    let git = l.source == "git";
    let reference = l.reference.clone().unwrap_or_else(|| "HEAD".into());
    Ok(LibraryInstall {
        label: match l.source.as_str() {
            "registry" | "arduino-index" => l.name.clone(),
            _ => resolve::url_label(&url),
        },
        version: match l.source.as_str() {
            "git" => reference,
            "archive" => "url".into(),
            _ => l.version.clone().unwrap_or_default(),
        },
        git_ref: if git { l.commit.clone() } else { None },
        sha256: l.sha256.clone(),
        url,
    })
}

/// Library folders present without fetching, by lowercase name: each
/// subfolder of `dirs` (by its manifest's name and its folder name).
pub fn local_libraries(dirs: &[PathBuf]) -> std::collections::BTreeMap<String, PathBuf> {
    let mut out = std::collections::BTreeMap::new();
    for dir in dirs {
        for sub in crate::files::subdirs(dir) {
            if let Ok(m) = manifest::read(&sub) {
                out.entry(m.name.to_lowercase())
                    .or_insert_with(|| sub.clone());
            }
            if let Some(n) = sub.file_name() {
                out.entry(n.to_string_lossy().to_lowercase()).or_insert(sub);
            }
        }
    }
    out
}

/// The `lib_deps` folders of `env` for a build into `target`.
pub async fn for_env(
    client: &fbuild_client::Client,
    project: &crate::project::Project,
    env: &crate::project::EnvConfig,
    target: &crate::target::Target,
    mode: LockMode,
) -> Result<Vec<PathBuf>> {
    let lock_exists = project.root.join(lockfile::FILE_NAME).is_file();
    if env.lib_deps.is_empty() && !lock_exists && mode != LockMode::Update {
        return Ok(Vec::new());
    }
    let settings = client.settings();
    let registry = settings.registry_url.as_deref().unwrap_or(REGISTRY_URL);
    let arduino = settings
        .library_index
        .as_deref()
        .unwrap_or(ARDUINO_INDEX_URL);
    let pio_platform = target.pio_platform(&env.platform);
    let mut cx = Context {
        client,
        root: &project.root,
        platform: &pio_platform,
        registry: fbuild_core::protocol::LibraryIndex::Registry {
            url: registry.into(),
        },
        arduino: fbuild_core::protocol::LibraryIndex::Arduino {
            url: arduino.into(),
        },
        local: local_libraries(&search_dirs(project, env, target)),
        prefer: Default::default(),
    };
    let resolved = prepare(&mut cx, &env.name, &env.lib_deps, mode).await?;
    Ok(resolved.into_iter().map(|r| r.dir).collect())
}

/// Folders whose libraries are packages, confined to their own folder:
/// everything fbuild installed (`FBUILD_HOME`) and the core's bundled
/// libraries.
pub fn package_dirs(
    client: &fbuild_client::Client,
    target: &crate::target::Target,
) -> Vec<PathBuf> {
    let mut dirs = vec![client.settings().home.root().to_path_buf()];
    dirs.extend(target.core.iter().flat_map(|c| c.libraries.iter().cloned()));
    dirs
}

/// Where libraries named by includes are looked up, in order: `lib/`,
/// `lib_extra_dirs`, the core's `libraries/`.
pub fn search_dirs(
    project: &crate::project::Project,
    env: &crate::project::EnvConfig,
    target: &crate::target::Target,
) -> Vec<PathBuf> {
    let mut dirs = vec![project.lib_dir.clone()];
    dirs.extend(env.lib_extra_dirs.iter().cloned());
    dirs.extend(target.core.iter().flat_map(|c| c.libraries.iter().cloned()));
    dirs
}
