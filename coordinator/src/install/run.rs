//! One install, start to finish, in phase order (DESIGN.md, "Install
//! gate"). Blocking code: runs on a blocking thread.

use std::path::{Path, PathBuf};

use fbuild_core::install_status::{InstallPhase as Phase, InstallRole as Role};
use fbuild_core::time::{DOWNLOAD_RETRY_BACKOFF, INSTALL_LOCK_WAIT};

use super::error::InstallError;
use super::extract::extract;
use super::fetch::{self, FetchError};
use super::git;
use super::progress::Progress;
use super::spec::{Checksum, Origin, PackageSpec, RECORD_FILE};
use super::transaction::{PackageLock, Staging, sweep};

/// Installs `spec` (or finds it installed by someone else) and returns the
/// final directory.
pub fn run(spec: &PackageSpec, p: &Progress) -> Result<PathBuf, InstallError> {
    p.phase(Phase::WaitingForLock, "waiting for the install lock");
    let mut waited = false;
    let _lock = PackageLock::acquire(&spec.lock_file, INSTALL_LOCK_WAIT, &mut || {
        waited = true;
        p.role(Role::Waiter, "another process is installing it; waiting")
    })?;
    sweep(&spec.dest);
    if spec.dest.exists() {
        p.phase(Phase::Checking, "checking the existing install");
        match check(spec, &spec.dest) {
            Ok(()) => {
                p.phase(
                    Phase::Installed,
                    format!("installed at {}", spec.dest.display()),
                );
                return Ok(spec.dest.clone());
            }
            // Replaced only by a new install that is whole and checked
            // (seen: a lock file's wrong pin deleted the stored library
            // every other project used, and the download then failed).
            Err(why) => tracing::warn!("{} is unusable ({why}); reinstalling", spec.dest.display()),
        }
    }
    if waited {
        p.role(
            Role::Installer,
            "the other installer did not finish; installing",
        );
    }
    install_fresh(spec, p)
}

fn install_fresh(spec: &PackageSpec, p: &Progress) -> Result<PathBuf, InstallError> {
    let staging = Staging::create(&spec.dest)?;
    let (tree, record) = match &spec.origin {
        Origin::Archive => unpack_archive(spec, p, staging.path())?,
        Origin::Git { reference } => clone(spec, reference, p, staging.path())?,
    };
    let root = match spec.top_dir.as_deref() {
        Some("*") => single_dir(&tree).unwrap_or(tree),
        Some(top) => tree.join(top),
        None => tree,
    };
    // The package itself must be a folder, not a link to one (it would be
    // renamed into the store as a link to anywhere).
    if std::fs::symlink_metadata(&root).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(InstallError::Unpack(format!(
            "{}: its folder {} is a link; refused",
            spec.archive_url,
            spec.top_dir.as_deref().unwrap_or(".")
        )));
    }
    if !root.is_dir() {
        return Err(InstallError::Layout(format!(
            "{} has no folder {}",
            spec.archive_url,
            spec.top_dir.as_deref().unwrap_or(".")
        )));
    }
    super::entry_rules::links_inside(&root).map_err(InstallError::Unpack)?;
    make_executable(&root, &spec.executables)?;
    if spec.record {
        let path = root.join(RECORD_FILE);
        std::fs::write(&path, record.to_string())
            .map_err(|e| InstallError::io(format!("writing {}", path.display()), e))?;
    }

    p.phase(Phase::Checking, "checking the new install");
    check(spec, &root).map_err(InstallError::Unhealthy)?;
    staging.commit(&root, &spec.dest)?;
    p.phase(
        Phase::Installed,
        format!("installed at {}", spec.dest.display()),
    );
    Ok(spec.dest.clone())
}

/// Downloads, verifies and unpacks the archive into `<staging>/tree`;
/// returns it and the package's record (url, sha256).
fn unpack_archive(
    spec: &PackageSpec,
    p: &Progress,
    staging: &Path,
) -> Result<(PathBuf, serde_json::Value), InstallError> {
    p.phase(
        Phase::Downloading,
        format!("downloading {}", spec.archive_url),
    );
    let expected = with_retry(p, || expected_sha256(spec))?;
    let archive = staging.join("archive");
    let got = with_retry(p, || {
        let mut progress = |done, total| p.bytes(done, total);
        let watch = fetch::Watch {
            stall: spec.stall,
            progress: Some(&mut progress),
        };
        fetch::download(&spec.archive_url, &archive, watch)
    })?;

    p.phase(Phase::Verifying, "verifying the sha256");
    verify(spec, expected, got.sha256.clone(), got.bytes)?;

    p.phase(Phase::Extracting, "unpacking");
    let tree = staging.join("tree");
    std::fs::create_dir(&tree)
        .map_err(|e| InstallError::io(format!("creating {}", tree.display()), e))?;
    extract(&archive, &tree, spec.limits)?;
    let _ = std::fs::remove_file(&archive);
    let record = serde_json::json!({"url": spec.archive_url, "sha256": got.sha256});
    Ok((tree, record))
}

/// Clones the repository at `reference` into `<staging>/tree`; the record
/// has the commit and the tree's digest as its sha256.
fn clone(
    spec: &PackageSpec,
    reference: &str,
    p: &Progress,
    staging: &Path,
) -> Result<(PathBuf, serde_json::Value), InstallError> {
    p.phase(
        Phase::Downloading,
        format!("cloning {} at {reference}", spec.archive_url),
    );
    let expected = with_retry(p, || expected_sha256(spec))?;
    let wanted = || p.wanted();
    let watch = super::git_cmd::Watch {
        url: &spec.archive_url,
        stall: spec.stall,
        limits: spec.limits,
        wanted: &wanted,
    };
    let out = match git::checkout(&spec.archive_url, reference, staging, &watch) {
        Err(InstallError::Fetch(e)) if e.transient && p.wanted() => {
            tracing::warn!("{}; retrying once", e.message);
            p.message(format!("{}; retrying once", e.message));
            std::thread::sleep(DOWNLOAD_RETRY_BACKOFF);
            git::checkout(&spec.archive_url, reference, staging, &watch)?
        }
        other => other?,
    };
    p.phase(Phase::Verifying, "verifying the tree's sha256");
    let digest = git::tree_digest(&out.tree)?;
    verify(spec, expected, digest.clone(), 0)?;
    let record = serde_json::json!({
        "url": spec.archive_url, "sha256": digest, "commit": out.commit, "reference": reference,
    });
    Ok((out.tree, record))
}

/// `actual` must be `expected` (any value when the checksum is recorded).
fn verify(
    spec: &PackageSpec,
    expected: Option<String>,
    actual: String,
    bytes: u64,
) -> Result<(), InstallError> {
    match expected {
        Some(expected) if expected != actual => Err(InstallError::Checksum {
            url: spec.archive_url.clone(),
            expected,
            actual,
            bytes,
        }),
        _ => Ok(()),
    }
}

/// The one folder `tree` holds (a package index's archives have one top
/// folder whose name the index does not say).
fn single_dir(tree: &Path) -> Option<PathBuf> {
    let mut entries = std::fs::read_dir(tree).ok()?.flatten();
    let first = entries.next()?;
    let folder = first.file_type().is_ok_and(|t| t.is_dir());
    (entries.next().is_none() && folder).then(|| first.path())
}

/// Executables present, then the package's own health check.
fn check(spec: &PackageSpec, root: &Path) -> Result<(), String> {
    for exe in &spec.executables {
        if !root.join(exe).is_file() {
            return Err(format!("{} is missing", root.join(exe).display()));
        }
    }
    (spec.health)(root)
}

/// `None`: anything is accepted (and recorded).
fn expected_sha256(spec: &PackageSpec) -> Result<Option<String>, FetchError> {
    match &spec.checksum {
        Checksum::Record => Ok(None),
        Checksum::Sha256(hash) => Ok(Some(hash.to_ascii_lowercase())),
        Checksum::SumsFile { url, file_name } => {
            let sums = fetch::fetch_text(url, 1024 * 1024, fetch::Watch::quiet(spec.stall))?;
            fetch::find_checksum(&sums, file_name)
                .map(Some)
                .ok_or_else(|| {
                    FetchError::permanent(format!(
                        "{url} has no sha256 for {file_name}; refusing to install an unverified \
                         archive"
                    ))
                })
        }
    }
}

/// Runs `f`; a transient failure gets one retry after a backoff.
fn with_retry<T>(
    p: &Progress,
    mut f: impl FnMut() -> Result<T, FetchError>,
) -> Result<T, InstallError> {
    match f() {
        Ok(v) => Ok(v),
        // Worth one more try, if anyone still waits for it.
        Err(e) if e.transient && p.wanted() => {
            tracing::warn!("{}; retrying once", e.message);
            p.message(format!("{}; retrying once", e.message));
            std::thread::sleep(DOWNLOAD_RETRY_BACKOFF);
            f().map_err(InstallError::from)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
fn make_executable(root: &Path, executables: &[String]) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    for exe in executables {
        let path = root.join(exe);
        let meta = std::fs::metadata(&path)
            .map_err(|e| InstallError::Layout(format!("the archive has no {exe}: {e}")))?;
        let mut perms = meta.permissions();
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&path, perms)
            .map_err(|e| InstallError::io(format!("making {} executable", path.display()), e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_root: &Path, _executables: &[String]) -> Result<(), InstallError> {
    Ok(())
}
