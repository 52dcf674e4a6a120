//! The sources phase remembered: what [`collect`] found (units, libraries,
//! include folders) and the project's headers, with every path it looked
//! at and how it stood ([`observed`]), kept in the build folder
//! (`fbuild-sources.json`). The next build takes it when its layout is
//! the same and every path stands as it did — a no-op build of a project
//! with a library of thousands of files reads no library source — and
//! collects again otherwise. Messages the walk printed (a link skipped,
//! a library for another platform) are said again from the memo. A walk
//! that failed to read something, or saw a path changed within the last
//! two seconds, is not remembered ([`trusted`]); nor on Windows, whose
//! metadata has no ctime or inode here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::observed::{self, Log, Said};
use crate::sources::{Layout, Sources, collect};

/// The file, in the environment's build folder.
pub const FILE: &str = "fbuild-sources.json";

#[derive(Serialize, Deserialize)]
struct Memo {
    /// The layout and this fbuild (see [`key`]).
    key: String,
    looked_at: Log,
    said: Said,
    sources: Sources,
    headers: BTreeSet<PathBuf>,
}

/// What a build's sources phase gives: the sources, the project's headers
/// (`Sources::headers`), and whether they came from the memo.
pub struct Collected {
    pub sources: Sources,
    pub headers: BTreeSet<PathBuf>,
    pub remembered: bool,
}

/// [`collect`] for `layout`, from the memo at `file` when it still holds;
/// `root` and `build_dir` as `Sources::headers` takes them.
pub fn collect_remembered(
    layout: &Layout,
    file: &Path,
    root: &Path,
    build_dir: &Path,
) -> Result<Collected> {
    let key = key(layout);
    if let Some(memo) = load(file).filter(|m| m.key == key && observed::unchanged(&m.looked_at)) {
        for (kind, text) in &memo.said {
            crate::report::say(*kind, text);
        }
        return Ok(Collected {
            sources: memo.sources,
            headers: memo.headers,
            remembered: true,
        });
    }
    let (found, looked_at, said) = observed::log_into(|| -> Result<_> {
        let sources = collect(layout)?;
        let headers = sources.headers(root, build_dir);
        Ok((sources, headers))
    });
    let (sources, headers) = found?;
    let trusted = trusted(&looked_at);
    let memo = Memo {
        key,
        looked_at,
        said,
        sources,
        headers,
    };
    if trusted {
        save(file, &memo);
    } else {
        let _ = std::fs::remove_file(file);
    }
    Ok(Collected {
        sources: memo.sources,
        headers: memo.headers,
        remembered: false,
    })
}

/// Whether a walk may be remembered: every read succeeded (a folder that
/// could not be read is tried again next build), nothing it saw changed
/// within the last [`RACY`] (a file written again in the same timestamp
/// tick with the same size would look unchanged: git's "racily clean"
/// rule), and the OS gives ctimes and inodes (Unix).
fn trusted(log: &Log) -> bool {
    let settled = (std::time::SystemTime::now() - fbuild_core::time::RACY_STAMPS)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    cfg!(unix) && !log.failed && log.seen.iter().all(|(_, seen)| seen.mtime() < settled)
}

/// The layout as text, with this fbuild's version and binary (another
/// fbuild may collect otherwise).
fn key(layout: &Layout) -> String {
    let exe = std::env::current_exe()
        .ok()
        .map(|e| format!("{e:?} {:?}", observed::Seen::of(&e)))
        .unwrap_or_default();
    format!("{} {exe} {layout:?}", env!("CARGO_PKG_VERSION"))
}

fn load(file: &Path) -> Option<Memo> {
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

/// Written whole (a temp file renamed) or not at all: a memo that cannot
/// be written only costs the next build a walk.
fn save(file: &Path, memo: &Memo) {
    let tmp = file.with_extension("json.tmp");
    let written = serde_json::to_vec(memo)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(file);
    }
}
