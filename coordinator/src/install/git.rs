//! Packages from git repositories (library `lib_deps` such as
//! `https://…/Lib.git#v1.2.0`): the `git` CLI clones into the staging dir
//! and checks out the reference (tag, branch or commit); `.git` is removed
//! and the tree's digest stands in for an archive's sha256. Also the tree
//! digest itself, so a lock file can pin a checkout. How git is run and
//! watched is `git_cmd`'s.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::InstallError;
use super::fetch::{FetchError, hex};
use super::git_cmd::{Measure, Watch, git, is_transient, listed_size, watched};

/// A finished checkout: the tree (inside staging) and its commit.
pub struct Checkout {
    pub tree: PathBuf,
    pub commit: String,
}

/// Clones `url` into a fresh folder of `staging` and checks out
/// `reference` (its files counted against the limits before one is
/// written).
pub fn checkout(
    url: &str,
    reference: &str,
    staging: &Path,
    watch: &Watch,
) -> Result<Checkout, InstallError> {
    if !fbuild_core::library_wire::is_git_ref(reference) {
        return Err(InstallError::Layout(format!(
            "{url}: {reference:?} is not a tag, branch or commit name"
        )));
    }
    let tree = fresh_dir(staging)?;
    let name = tree.file_name().unwrap_or_default().to_string_lossy();
    let clone = watched(
        staging,
        &["clone", "--progress", "--no-checkout", "--", url, &name],
        watch,
        Measure::Clone(&tree),
    )?;
    if !clone.0 {
        let message = format!("git clone {url} failed: {}", clone.1);
        return Err(InstallError::Fetch(if is_transient(&clone.1) {
            FetchError::transient(message)
        } else {
            FetchError::permanent(message)
        }));
    }
    let Some(commit) = resolve(&tree, reference) else {
        return Err(InstallError::Layout(format!(
            "{url} has no tag, branch or commit {reference:?}; it has {}",
            known_refs(&tree)
        )));
    };
    listed_size(&tree, &commit, watch)?;
    let (ok, err) = watched(
        &tree,
        &["checkout", "--quiet", "--detach", &commit, "--"],
        watch,
        Measure::Tree(&tree),
    )?;
    if !ok {
        return Err(InstallError::Layout(format!(
            "{url}: checking out {reference:?} failed: {err}"
        )));
    }
    std::fs::remove_dir_all(tree.join(".git"))
        .map_err(|e| InstallError::io(format!("removing {}/.git", tree.display()), e))?;
    Ok(Checkout { tree, commit })
}

/// A folder of `staging` no attempt has used (`tree`, `tree-2`, …): what
/// an attempt that was stopped leaves is not in the next one's way.
fn fresh_dir(staging: &Path) -> Result<PathBuf, InstallError> {
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let tree = (1..100)
        .map(|n| match n {
            1 => staging.join("tree"),
            n => staging.join(format!("tree-{n}")),
        })
        .find(|p| !taken(p) || std::fs::remove_dir_all(p).is_ok());
    tree.ok_or_else(|| {
        InstallError::Internal(format!("{}: no free folder for a clone", staging.display()))
    })
}

/// The commit `reference` names (a tag, a commit, or a branch of the
/// origin), as a full hash. (`reference` was checked not to start with
/// `-`: `--end-of-options` needs git 2.30.)
fn resolve(repo: &Path, reference: &str) -> Option<String> {
    [reference.to_string(), format!("origin/{reference}")]
        .iter()
        .find_map(|r| {
            let spec = format!("{r}^{{commit}}");
            let (ok, out) = git(repo, &["rev-parse", "--verify", "--quiet", &spec]).ok()?;
            let commit = out.trim().to_string();
            let hash =
                matches!(commit.len(), 40 | 64) && commit.chars().all(|c| c.is_ascii_hexdigit());
            (ok && hash).then_some(commit)
        })
}

/// "tags v1.0, v1.1; branches main" for an error message (at most 20 of
/// each, then how many more).
fn known_refs(repo: &Path) -> String {
    let list = |args: &[&str]| {
        let names: Vec<String> = git(repo, args)
            .ok()
            .filter(|(ok, _)| *ok)
            .map(|(_, out)| {
                out.lines()
                    .map(|l| l.trim().trim_start_matches("origin/").to_string())
                    .filter(|l| !l.is_empty() && !l.starts_with("HEAD"))
                    .collect()
            })
            .unwrap_or_default();
        match names.len() {
            0 => "none".to_string(),
            n if n > 20 => format!("{} and {} more", names[..20].join(", "), n - 20),
            _ => names.join(", "),
        }
    };
    format!(
        "tags: {}; branches: {}",
        list(&["tag", "--list"]),
        list(&["branch", "--remotes", "--format=%(refname:short)"])
    )
}

/// sha256 over a file tree: every file's relative path (`/`-separated,
/// sorted), a NUL, its length, its bytes; symlinks by their target. The
/// same tree gives the same digest on any machine.
pub fn tree_digest(root: &Path) -> Result<String, InstallError> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| InstallError::io(format!("reading {}", dir.display()), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| InstallError::io(format!("reading {}", path.display()), e))?;
            if kind.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            (name, p)
        })
        .filter(|(name, _)| name != super::spec::RECORD_FILE)
        .collect();
    named.sort();
    let mut hasher = Sha256::new();
    for (name, path) in named {
        let bytes = match std::fs::read_link(&path) {
            Ok(target) => target.to_string_lossy().into_owned().into_bytes(),
            Err(_) => std::fs::read(&path)
                .map_err(|e| InstallError::io(format!("reading {}", path.display()), e))?,
        };
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_names_and_contents_only() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for root in [a.path(), b.path()] {
            std::fs::create_dir_all(root.join("src")).unwrap();
            std::fs::write(root.join("src/x.h"), "x").unwrap();
            std::fs::write(root.join("library.json"), "{}").unwrap();
        }
        std::fs::write(b.path().join(super::super::spec::RECORD_FILE), "{}").unwrap();
        assert_eq!(
            tree_digest(a.path()).unwrap(),
            tree_digest(b.path()).unwrap()
        );
        std::fs::write(b.path().join("src/x.h"), "y").unwrap();
        assert_ne!(
            tree_digest(a.path()).unwrap(),
            tree_digest(b.path()).unwrap()
        );
    }
}
