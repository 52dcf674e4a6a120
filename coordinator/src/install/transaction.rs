//! The install transaction: the cross-process package lock, the staging
//! directory (removed on every early return, kept only by one atomic
//! rename), and the sweep of what dead installers left.
//!
//! Staleness rules, in order:
//! 1. The package lock (`FBUILD_HOME/locks/<name>-<version>.lock`) is an OS
//!    lock: it dies with its owner, so a killed installer never blocks.
//! 2. Staging dirs are `.<name>-<version>.staging-<pid>-<nanos>` beside the
//!    final dir. Whoever holds the package lock may delete every staging
//!    dir of that package: a live installer would hold the lock itself.
//! 3. The final dir appears only by `rename(2)` of a complete, checked
//!    tree: it is either absent or whole. One it replaces (broken, or not
//!    what a lock pins) stays until the new tree is ready, then is renamed
//!    aside (`.<name>-<version>.broken-…`) and removed, so no reader sees it
//!    half-deleted.

use fbuild_core::lock::lock_within;

use super::error::InstallError;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fslock::LockFile;

pub struct PackageLock(#[allow(dead_code)] LockFile);

impl PackageLock {
    /// Takes the lock; `on_contended` runs once if another process holds it
    /// (this process then waits for that installer). Gives up after `wait`.
    pub fn acquire(
        path: &Path,
        wait: Duration,
        on_contended: &mut dyn FnMut(),
    ) -> Result<Self, InstallError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| InstallError::io(format!("creating {}", dir.display()), e))?;
        }
        match lock_within(path, wait, on_contended) {
            Ok(Some(lock)) => Ok(PackageLock(lock)),
            Ok(None) => Err(InstallError::LockTimeout {
                path: path.to_path_buf(),
                waited: wait,
            }),
            Err(e) => Err(InstallError::Lock {
                path: path.to_path_buf(),
                cause: e.to_string(),
            }),
        }
    }
}

/// A staging directory beside `dest`; removed on drop unless committed.
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    pub fn create(dest: &Path) -> Result<Self, InstallError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = sibling(dest, &format!("staging-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| InstallError::io(format!("creating {}", dir.display()), e))?;
        Ok(Staging { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Makes `tree` (inside the staging dir) the final `dest` with one
    /// rename; an old `dest` is moved aside first, put back if the rename
    /// fails (the copy in use is never lost for a new one that could not
    /// land), and deleted once the new one is in place. The rest of the
    /// staging dir is removed on drop.
    pub fn commit(self, tree: &Path, dest: &Path) -> Result<(), InstallError> {
        let aside = match std::fs::symlink_metadata(dest) {
            Ok(_) => Some(move_aside(dest)?),
            Err(_) => None,
        };
        if let Err(e) = std::fs::rename(tree, dest) {
            let mut what = format!("moving {} to {}", tree.display(), dest.display());
            if let Some(old) = &aside
                && let Err(back) = std::fs::rename(old, dest)
            {
                what.push_str(&format!(
                    " (and putting the old copy back failed: {back}; it is {}, and is removed \
                     by the next install of this package)",
                    old.display()
                ));
            }
            return Err(InstallError::io(what, e));
        }
        if let Some(old) = aside {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Removes staging and broken dirs of `dest`'s package. Call with the
/// package lock held. Returns how many were removed.
pub fn sweep(dest: &Path) -> usize {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return 0;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let leftover = file_name
            .strip_prefix(&prefix)
            .is_some_and(|rest| rest.starts_with("staging-") || rest.starts_with("broken-"));
        if leftover && std::fs::remove_dir_all(entry.path()).is_ok() {
            tracing::info!(
                "removed {} left by an earlier install",
                entry.path().display()
            );
            removed += 1;
        }
    }
    removed
}

/// Moves an install about to be replaced out of the way (`sweep` removes
/// it if this process dies before it is deleted); where it went.
fn move_aside(dest: &Path) -> Result<PathBuf, InstallError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let aside = sibling(dest, &format!("broken-{}-{nanos}", std::process::id()));
    std::fs::rename(dest, &aside)
        .map_err(|e| InstallError::io(format!("moving the old {} aside", dest.display()), e))?;
    Ok(aside)
}

/// `.<dest name>.<suffix>` in `dest`'s parent.
fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_removed_unless_committed_and_sweep_finds_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pkg-1.0");
        let staged = Staging::create(&dest).unwrap();
        let path = staged.path().to_path_buf();
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".pkg-1.0.staging-")
        );
        drop(staged);
        assert!(!path.exists());

        let staged = Staging::create(&dest).unwrap();
        std::fs::create_dir(staged.path().join("tree")).unwrap();
        let tree = staged.path().join("tree");
        staged.commit(&tree, &dest).unwrap();
        assert!(dest.is_dir());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // A "dead installer's" staging dir is swept; other packages' are not.
        std::fs::create_dir(dir.path().join(".pkg-1.0.staging-1-2")).unwrap();
        std::fs::create_dir(dir.path().join(".other-1.0.staging-1-2")).unwrap();
        assert_eq!(sweep(&dest), 1);
        assert!(dir.path().join(".other-1.0.staging-1-2").exists());
    }

    #[test]
    fn a_replacement_that_cannot_land_leaves_the_old_copy() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pkg-1.0");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old.h"), "old").unwrap();
        let staged = Staging::create(&dest).unwrap();
        // Nothing to rename: the move fails.
        let missing = staged.path().join("tree");
        assert!(staged.commit(&missing, &dest).is_err());
        assert_eq!(std::fs::read_to_string(dest.join("old.h")).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let staged = Staging::create(&dest).unwrap();
        let tree = staged.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        std::fs::write(tree.join("new.h"), "new").unwrap();
        staged.commit(&tree, &dest).unwrap();
        assert!(dest.join("new.h").is_file() && !dest.join("old.h").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
