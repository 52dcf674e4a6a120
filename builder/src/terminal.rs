//! The progress bar on the terminal now, if any (`progress` draws it):
//! every line written meanwhile ([`printing`], which `report` calls)
//! clears it first and draws it again after, so that no diagnostic starts
//! on the bar's line.

use std::sync::Mutex;

use indicatif::ProgressBar;

static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The bar now drawn (`None`: none).
pub fn shown(bar: Option<ProgressBar>) {
    *SHOWN.lock().unwrap_or_else(|p| p.into_inner()) = bar;
}

/// Runs `write` (a line, a compiler's diagnostics) with the bar, if one is
/// shown, out of the way.
pub fn printing<T>(write: impl FnOnce() -> T) -> T {
    let bar = SHOWN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}
