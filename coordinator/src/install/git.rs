//! Packages from git repositories (library `lib_deps` such as
//! `https://…/Lib.git#v1.2.0`): the `git` CLI clones into the staging dir
//! and checks out the reference (tag, branch or commit); `.git` is removed
//! and the tree's digest stands in for an archive's sha256. Also the tree
//! digest itself, so a lock file can pin a checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::entry_rules::tree_size;
use super::error::InstallError;
use super::fetch::{FetchError, hex};
use super::spec::UnpackLimits;
use crate::process::output_watched;

/// A finished checkout: the tree (inside staging) and its commit.
pub struct Checkout {
    pub tree: PathBuf,
    pub commit: String,
}

/// What a clone and checkout are held to, as a download is: the longest
/// time the staging folder may go without growing, how much it may hold,
/// and whether anyone still waits for it.
pub struct Watch<'a> {
    pub stall: Duration,
    pub limits: UnpackLimits,
    pub wanted: &'a dyn Fn() -> bool,
}

/// Clones `url` into `<staging>/tree` and checks out `reference` (its
/// files counted against the limits before one is written).
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
    let tree = staging.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    let clone = watched(
        staging,
        &["clone", "--quiet", "--no-checkout", "--", url, "tree"],
        (watch, staging),
        url,
    )?;
    if !clone.0 {
        return Err(InstallError::Fetch(FetchError::permanent(format!(
            "git clone {url} failed: {}",
            clone.1.trim()
        ))));
    }
    let Some(commit) = resolve(&tree, reference) else {
        return Err(InstallError::Layout(format!(
            "{url} has no tag, branch or commit {reference:?}; it has {}",
            known_refs(&tree)
        )));
    };
    let (bytes, files) = listed_size(&tree, &commit)?;
    watch
        .limits
        .check(url, bytes, files)
        .map_err(InstallError::Unpack)?;
    let (ok, err) = watched(
        &tree,
        &["checkout", "--quiet", "--detach", &commit, "--"],
        (watch, staging),
        url,
    )?;
    if !ok {
        return Err(InstallError::Layout(format!(
            "{url}: checking out {reference:?} failed: {}",
            err.trim()
        )));
    }
    std::fs::remove_dir_all(tree.join(".git"))
        .map_err(|e| InstallError::io(format!("removing {}/.git", tree.display()), e))?;
    Ok(Checkout { tree, commit })
}

/// The commit `reference` names (a tag, a commit, or a branch of the
/// origin), as a full hash.
fn resolve(repo: &Path, reference: &str) -> Option<String> {
    [reference.to_string(), format!("origin/{reference}")]
        .iter()
        .find_map(|r| {
            let spec = format!("{r}^{{commit}}");
            let (ok, out) = git(
                repo,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &spec,
                ],
            )
            .ok()?;
            let commit = out.trim().to_string();
            let hash =
                matches!(commit.len(), 40 | 64) && commit.chars().all(|c| c.is_ascii_hexdigit());
            (ok && hash).then_some(commit)
        })
}

/// Bytes and files `commit`'s tree holds (`git ls-tree -r -l`), known
/// before anything is checked out.
fn listed_size(repo: &Path, commit: &str) -> Result<(u64, u64), InstallError> {
    let (ok, out) = git(repo, &["ls-tree", "-r", "-l", "--end-of-options", commit])?;
    if !ok {
        return Err(InstallError::Layout(format!(
            "listing {commit} failed: {}",
            out.trim()
        )));
    }
    let (mut bytes, mut files) = (0u64, 0u64);
    for line in out.lines() {
        files += 1;
        let size = line
            .split('\t')
            .next()
            .and_then(|meta| meta.split_whitespace().nth(3));
        bytes = bytes.saturating_add(size.and_then(|s| s.parse().ok()).unwrap_or(0));
    }
    Ok((bytes, files))
}

/// Runs git in `dir` while `measured` (the staging folder) is watched: no
/// growth for `watch.stall` fails the attempt (transient), more than the
/// limits fails it (refused), nobody waiting stops it.
fn watched(
    dir: &Path,
    args: &[&str],
    (watch, measured): (&Watch, &Path),
    url: &str,
) -> Result<(bool, String), InstallError> {
    let mut size = (0u64, Instant::now());
    let mut cmd = command(dir, args);
    let out = output_watched(&mut cmd, || {
        if !(watch.wanted)() {
            return Err(InstallError::Fetch(FetchError::cancelled(url)));
        }
        let (bytes, files) = tree_size(measured);
        watch
            .limits
            .check(url, bytes, files)
            .map_err(InstallError::Unpack)?;
        if bytes > size.0 {
            size = (bytes, Instant::now());
        } else if size.1.elapsed() > watch.stall {
            return Err(InstallError::Fetch(FetchError::transient(format!(
                "git made no progress with {url} for {} s (FBUILD_DOWNLOAD_STALL_SECS sets how \
                 long a download may stall)",
                watch.stall.as_secs_f64()
            ))));
        }
        Ok(())
    })?
    .map_err(|e| InstallError::Internal(format!("{e}: install git to use git URLs in lib_deps")))?;
    Ok(outcome(&out))
}

/// Runs git in `dir` (local, quick commands); `(succeeded, stdout or
/// stderr)`.
fn git(dir: &Path, args: &[&str]) -> Result<(bool, String), InstallError> {
    let out = command(dir, args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            InstallError::Internal(format!(
                "running git ({e}): install git to use git URLs in lib_deps"
            ))
        })?;
    Ok(outcome(&out))
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ADVICE", "0");
    cmd
}

fn outcome(out: &std::process::Output) -> (bool, String) {
    let text = if out.status.success() {
        &out.stdout
    } else {
        &out.stderr
    };
    (
        out.status.success(),
        String::from_utf8_lossy(text).into_owned(),
    )
}

/// "tags v1.0, v1.1; branches main" for an error message.
fn known_refs(repo: &Path) -> String {
    let list = |args: &[&str]| {
        git(repo, args)
            .ok()
            .filter(|(ok, _)| *ok)
            .map(|(_, out)| {
                out.lines()
                    .map(|l| l.trim().trim_start_matches("origin/").to_string())
                    .filter(|l| !l.is_empty() && !l.starts_with("HEAD"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let tags = list(&["tag", "--list"]);
    let branches = list(&["branch", "--remotes", "--format=%(refname:short)"]);
    format!(
        "tags: {}; branches: {}",
        if tags.is_empty() { "none" } else { &tags },
        if branches.is_empty() {
            "none"
        } else {
            &branches
        }
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
