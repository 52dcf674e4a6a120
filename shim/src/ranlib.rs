//! `ranlib [-D] ARCHIVE` from fbuild's link store. ranlib rewrites its
//! archive in place, so the shim works on a private copy beside it, read
//! once: the copy's bytes are the key (with the tool, the line, and what
//! ranlib loads, `ranlib_store::fingerprint`); a hit restores the stored
//! result onto the copy, a miss runs ranlib on the copy and keeps it;
//! then the result is written into the archive as GNU ranlib writes it
//! (`ranlib_store::put_back`). Another job rewriting the archive
//! meanwhile cannot put its bytes under this key.

use std::path::{Path, PathBuf};

use fbuild_core::link_store::{self, Replay, Step, StepKind};
use fbuild_core::ranlib_store::{self, PutBack};
use fbuild_core::tool::Tool;

use crate::fallback::say;
use crate::rewrites::Prepared;
use crate::target::Target;

/// Variables that change which format bfd reads the archive as (the link
/// store refuses links under them too).
const FORMAT_VARS: &[&str] = &["GNUTARGET"];

/// A private copy of the archive, removed when dropped unless kept.
struct Copy {
    path: PathBuf,
    keep: bool,
}

impl Copy {
    /// A copy of `archive` beside it (named as it is: relative to the
    /// current folder or not), if it is a regular archive (a thin one
    /// names its members' files, which the key would not cover).
    fn of(archive: &Path) -> Option<Copy> {
        let mut name = archive.file_name()?.to_os_string();
        name.push(format!(".fbuild-ranlib.{}", link_store::unique()));
        let copy = Copy {
            path: archive.with_file_name(name),
            keep: false,
        };
        std::fs::copy(archive, &copy.path).ok()?;
        ranlib_store::is_regular_archive(&copy.path).then_some(copy)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The exit code of the ranlib call, from the store or the real tool on
/// the copy; `None` when the store cannot take it (run as usual).
pub fn run(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Option<i32> {
    let store = target.link_store.as_ref()?;
    if !target.links || target.zccache.is_none() || !prepared.use_zccache {
        return None;
    }
    if FORMAT_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let archive = prepared.ranlib.as_ref()?;
    let mut copy = Copy::of(archive)?;
    let fingerprint = ranlib_store::fingerprint(&target.real);
    let step = Step {
        tool: &target.real,
        args: &prepared.text,
        cwd: &cwd,
        fingerprint: &fingerprint,
        kind: StepKind::Ranlib {
            archive: archive.clone(),
            copy: copy.path.clone(),
        },
    };
    let planned = link_store::plan(&step)?;
    let replay = match link_store::restore(store, &planned) {
        Some(replay) => replay,
        None => {
            let mut args = prepared.text.clone();
            *args.last_mut()? = copy.path.to_str()?.to_string();
            let tool = Tool::new(&target.real).args(&args).env(marker.0, &marker.1);
            let (code, replay) = crate::stored::held(tool.command(), None)?;
            // What ranlib said names the archive, not the copy.
            let replay = renamed(replay, &copy.path, archive);
            // Failed on the copy (a damaged archive, a path too long
            // for the tool with the copy's suffix): the real ranlib runs
            // on the archive itself and says why, or succeeds.
            if code != Some(0) {
                return None;
            }
            let _ = link_store::keep(store, &planned, &replay);
            replay
        }
    };
    let result = std::fs::read(&copy.path).ok()?;
    match ranlib_store::put_back(&result, archive) {
        Ok(()) => {
            replay.write();
            Some(0)
        }
        // The archive is as it was: the real ranlib says why, or runs.
        Err(PutBack::NotOpened(_)) => None,
        Err(PutBack::Failed(e)) => {
            copy.keep = true;
            say(&format!(
                "fbuild: writing {}: {e} (ranlib's result is in {})",
                archive.display(),
                copy.path.display()
            ));
            Some(1)
        }
    }
}

/// `replay` with each mention of `copy` said as `archive`.
fn renamed(replay: Replay, copy: &Path, archive: &Path) -> Replay {
    let from = copy.as_os_str().as_encoded_bytes();
    let to = archive.as_os_str().as_encoded_bytes();
    let swap = |bytes: Vec<u8>| {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            if rest.starts_with(from) {
                out.extend_from_slice(to);
                rest = &rest[from.len()..];
            } else {
                out.push(rest[0]);
                rest = &rest[1..];
            }
        }
        out
    };
    Replay {
        stdout: swap(replay.stdout),
        stderr: swap(replay.stderr),
    }
}
