//! How git runs for an install: a fixed environment (no prompts, no line
//! ending conversion, curl giving up on a stalled transfer by itself), and
//! for the long steps, watched as a download is: no progress (the clone's
//! folder growing, or git reporting) for the stall time fails the attempt,
//! more than the limits refuses it, nobody waiting stops it, and whatever
//! git started stops with it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fbuild_core::time::MEASURE_EVERY;
use fbuild_core::tool::{Tool, group, run};

use super::entry_rules::tree_size;
use super::error::InstallError;
use super::fetch::FetchError;
use super::spec::UnpackLimits;

/// What a clone and checkout are held to, as a download is: the longest
/// time without progress, how much they may hold, and whether anyone still
/// waits for them.
pub struct Watch<'a> {
    pub url: &'a str,
    pub stall: Duration,
    pub limits: UnpackLimits,
    pub wanted: &'a dyn Fn() -> bool,
}

/// What a watched step writes, measured against the limits.
pub enum Measure<'a> {
    /// A clone: the repository (history included) against the byte limit.
    Clone(&'a Path),
    /// A checkout: the files of the tree (`.git` aside) against both.
    Tree(&'a Path),
}

impl Measure<'_> {
    fn check(&self, watch: &Watch) -> Result<u64, InstallError> {
        let (bytes, files) = match self {
            Measure::Clone(repo) => tree_size(repo),
            Measure::Tree(tree) => {
                let (all, git) = (tree_size(tree), tree_size(&tree.join(".git")));
                (all.0 - git.0.min(all.0), all.1 - git.1.min(all.1))
            }
        };
        let files = match self {
            Measure::Clone(_) => 0,
            Measure::Tree(_) => files,
        };
        watch
            .limits
            .check(watch.url, bytes, files)
            .map_err(|e| InstallError::Unpack(e.into()))?;
        Ok(bytes)
    }
}

/// Runs a long git step in `dir`, watched; `(succeeded, what it said)`.
pub fn watched(
    dir: &Path,
    args: &[&str],
    watch: &Watch,
    measure: Measure,
) -> Result<(bool, String), InstallError> {
    let url = watch.url;
    // Progress: bytes written plus bytes git said.
    let (mut last, mut moved, mut measured) = (0u64, Instant::now(), None::<(Instant, u64)>);
    let out = run::output_watched(&command(dir, args, watch.stall), |said| {
        if !(watch.wanted)() {
            return Err(InstallError::Fetch(FetchError::cancelled(url)));
        }
        let written = match measured {
            Some((at, bytes)) if at.elapsed() < MEASURE_EVERY => bytes,
            _ => {
                let bytes = measure.check(watch)?;
                measured = Some((Instant::now(), bytes));
                bytes
            }
        };
        if written + said > last {
            (last, moved) = (written + said, Instant::now());
        } else if moved.elapsed() > watch.stall {
            return Err(InstallError::Fetch(FetchError::transient(format!(
                "git made no progress with {url} for {} s (FBUILD_DOWNLOAD_STALL_SECS sets how \
                 long a download may stall)",
                watch.stall.as_secs_f64()
            ))));
        }
        Ok(())
    })?
    .map_err(|e| InstallError::Internal(format!("{e}: install git to use git URLs in lib_deps")))?;
    measure.check(watch)?;
    let ok = out.status.success();
    let said = if ok { &out.stdout } else { &out.stderr };
    Ok((ok, what_git_said(&String::from_utf8_lossy(said))))
}

/// Bytes and files `commit`'s tree holds (`git ls-tree -r -l`), checked
/// against the limits line by line before anything is checked out: a tree
/// that repeats one subtree a million times (a "git bomb" of a few KB) is
/// refused as soon as its listing passes the limits.
pub fn listed_size(repo: &Path, commit: &str, watch: &Watch) -> Result<(), InstallError> {
    let mut cmd = command(repo, &["ls-tree", "-r", "-l", commit], watch.stall).command();
    group::own_group(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| InstallError::Internal(format!("running git ({e})")))?;
    let lines = BufReader::new(child.stdout.take().expect("piped stdout"));
    let (mut bytes, mut files) = (0u64, 0u64);
    let mut refused = None;
    for line in lines.split(b'\n') {
        let Ok(line) = line else { break };
        files += 1;
        let line = String::from_utf8_lossy(&line);
        let size = line
            .split('\t')
            .next()
            .and_then(|meta| meta.split_whitespace().nth(3));
        bytes = bytes.saturating_add(size.and_then(|s| s.parse().ok()).unwrap_or(0));
        if let Err(why) = watch.limits.check(watch.url, bytes, files) {
            refused = Some(InstallError::Unpack(why.into()));
        } else if files % 4096 == 0 && !(watch.wanted)() {
            refused = Some(InstallError::Fetch(FetchError::cancelled(watch.url)));
        }
        if refused.is_some() {
            break;
        }
    }
    if let Some(e) = refused {
        group::kill_group(&mut child);
        return Err(e);
    }
    match child.wait() {
        Ok(status) if status.success() => Ok(()),
        other => Err(InstallError::Layout(format!(
            "{}: listing {commit} failed ({})",
            watch.url,
            other.map_or_else(|e| e.to_string(), |s| s.to_string())
        ))),
    }
}

/// Runs a quick local git command in `dir`; `(succeeded, stdout or
/// stderr)`.
pub fn git(dir: &Path, args: &[&str]) -> Result<(bool, String), InstallError> {
    let out = command(dir, args, fbuild_core::time::DEFAULT_DOWNLOAD_STALL)
        .command()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            InstallError::Internal(format!(
                "running git ({e}): install git to use git URLs in lib_deps"
            ))
        })?;
    let ok = out.status.success();
    let said = if ok { &out.stdout } else { &out.stderr };
    Ok((ok, String::from_utf8_lossy(said).into_owned()))
}

/// `git <args>` in `dir`: no prompt for credentials, files as committed
/// (no CRLF conversion, so a tree's digest is the same on every OS), and
/// curl giving up on its own below 1 byte/s for twice `stall` and 5 s more
/// (after the watch, which says it better, would have: a backstop for a
/// helper that outlives a killed git where no process group dies with
/// it).
fn command(dir: &Path, args: &[&str], stall: Duration) -> Tool {
    Tool::new("git")
        .args(["-c", "core.autocrlf=false", "-c", "core.eol=lf"])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ADVICE", "0")
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
        .env(
            "GIT_HTTP_LOW_SPEED_TIME",
            (stall.as_secs() * 2 + 5).to_string(),
        )
}

/// Whether a failed clone may pass if tried again (the network's
/// failures, not a missing repository).
pub fn is_transient(said: &str) -> bool {
    [
        "Operation too slow",
        "Could not resolve host",
        "Connection reset",
        "Connection refused",
        "timed out",
        "early EOF",
        "the remote end hung up unexpectedly",
        "HTTP/2 stream",
        "returned error: 5",
    ]
    .iter()
    .any(|m| said.contains(m))
}

/// What git said that matters: its `fatal:`/`error:` lines, else its last
/// line, progress reports (`Receiving objects: 45%…`) left out.
fn what_git_said(text: &str) -> String {
    let lines: Vec<&str> = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_progress(l))
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .collect();
    match (errors.is_empty(), lines.last()) {
        (false, _) => errors.join("; "),
        (true, Some(last)) => last.to_string(),
        (true, None) => String::new(),
    }
}

fn is_progress(line: &str) -> bool {
    let line = line.trim_start_matches("remote: ");
    [
        "Cloning into",
        "Enumerating objects",
        "Counting objects",
        "Compressing objects",
        "Receiving objects",
        "Resolving deltas",
        "Total ",
        "Fetching objects",
        "Updating files",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_not_what_git_said() {
        let said = "Cloning into 'tree'...\nReceiving objects:  45% (9/20)\rReceiving objects: \
                    100% (20/20), done.\nfatal: the remote end hung up unexpectedly\n";
        assert_eq!(
            what_git_said(said),
            "fatal: the remote end hung up unexpectedly"
        );
        assert_eq!(what_git_said("one\ntwo\n"), "two");
    }
}
