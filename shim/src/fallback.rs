//! Failing open, and saying so once per build rather than once per file.
//!
//! When the coordinator cannot give a plan (not running and cannot start,
//! wedged, missing binary) or zccache fails under a compile, the compile
//! runs with the real tool. The first shim of the build to create the
//! stamp prints the warning; the others see the stamp and stay quiet.
//! "This build" is the process group (make, ninja and their recipes share
//! one) within a window of minutes, so the next build warns again. The
//! stamp lives in the home's scratch dir, which falls back to a private
//! dir under /tmp when the home itself is not writable (seen: a read-only
//! FBUILD_HOME fell back correctly but printed no warning at all).

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use fbuild_core::Settings;
use fbuild_core::time::{FAILURE_REPORT_BUDGET, WARNING_WINDOW};

/// Says `message` and exits with `code`.
pub fn die(code: i32, message: &str) -> ! {
    say(message);
    std::process::exit(code)
}

/// Writes `line` and a newline to stderr in one `write`, so lines of
/// parallel shims never interleave mid-line.
pub fn say(line: &str) {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    let _ = std::io::stderr().lock().write_all(buf.as_bytes());
}

/// What a once-per-build warning is about: each topic is said once.
#[derive(Clone, Copy)]
pub enum Topic {
    /// The compile runs without the cache.
    Fallback,
    /// A setting's value cannot be used (its default is).
    Settings,
}

/// Prints `message` unless this build already did for `topic`.
pub fn warn_once(settings: Option<&Settings>, topic: Topic, message: &str) {
    let topic = match topic {
        Topic::Fallback => "fallback",
        Topic::Settings => "settings",
    };
    match settings.and_then(|s| s.home.scratch_dir()) {
        Some(dir) => {
            let stamp = dir.join(format!(".{topic}-warned-{}", process_group()));
            if claim(&stamp) {
                say(message);
            }
        }
        // Nowhere to agree on "once": better every line than none.
        None => say(message),
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
        .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= WARNING_WINDOW);
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
pub fn process_group() -> i32 {
    // SAFETY: getpgrp cannot fail.
    unsafe { libc::getpgrp() }
}

#[cfg(not(unix))]
pub fn process_group() -> i32 {
    0
}

/// Tells the coordinator that the zccache of its plan failed here, so it
/// checks (and restarts) the daemon before the next plan. Best effort,
/// never starts a coordinator.
pub fn report_zccache_failure(reason: &str) {
    let Ok(settings) = Settings::from_env() else {
        return;
    };
    let client = fbuild_client::Client::new(settings).with_budget(FAILURE_REPORT_BUDGET);
    let _ = client.request_if_running(
        &fbuild_core::protocol::Request::ZccacheFailed {
            reason: reason.to_string(),
        },
        &mut |_| {},
    );
}
