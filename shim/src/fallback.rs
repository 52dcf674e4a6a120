//! Failing open, and saying so once per build rather than once per file.
//!
//! When the coordinator cannot give a plan (not running and cannot start,
//! wedged, missing binary), every compile of the build falls back to the
//! real tool. The first shim to create the stamp for this build prints the
//! warning; the others see the stamp and stay quiet. "This build" is the
//! process group (make, ninja and their recipes share one) within a window
//! of minutes, so the next build warns again.

use std::path::Path;
use std::time::{Duration, SystemTime};

const WINDOW: Duration = Duration::from_secs(600);

/// Prints `message` unless this build already did.
pub fn warn_once(home: Option<&Path>, message: &str) {
    let Some(home) = home else {
        return eprintln!("{message}");
    };
    let dir = home.join("shims");
    let _ = std::fs::create_dir_all(&dir);
    let stamp = dir.join(format!(".fallback-warned-{}", process_group()));
    if claim(&stamp) {
        eprintln!("{message}");
    }
}

/// Whether this process is the first of the build to warn. Exactly one of
/// several racing shims wins: `create_new` for a missing stamp, and for a
/// stale one a rename away (only one rename of the same file succeeds)
/// followed by `create_new`.
fn claim(stamp: &Path) -> bool {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(stamp)
            .is_ok()
    };
    if create() {
        return true;
    }
    let stale = std::fs::metadata(stamp)
        .and_then(|m| m.modified())
        .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= WINDOW);
    if !stale {
        return false;
    }
    let aside = stamp.with_extension(format!("old-{}", std::process::id()));
    if std::fs::rename(stamp, &aside).is_err() {
        return false;
    }
    let _ = std::fs::remove_file(&aside);
    create()
}

#[cfg(unix)]
fn process_group() -> i32 {
    // SAFETY: getpgrp cannot fail.
    unsafe { libc::getpgrp() }
}

#[cfg(not(unix))]
fn process_group() -> i32 {
    0
}
