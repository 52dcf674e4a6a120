//! What a shim runs: the plan's [`Target`] (the real tool, zccache in
//! front or not, the stores), and the real tool's command as the user
//! gave it ([`real_command`]) — shared by `exec` and the probes.

use std::ffi::OsString;
use std::path::PathBuf;

use fbuild_core::tool::Tool;

use crate::rewrites::Prepared;

/// What to run.
#[derive(Debug)]
pub struct Target {
    /// zccache, when it goes in front.
    pub zccache: Option<PathBuf>,
    /// The real tool.
    pub real: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// For the `-MP` rewrite: blank line before each phony target.
    pub phony_blank_line: Option<bool>,
    /// Added to a cached compile for a terminal (see `rewrites`).
    pub color_flag: Option<String>,
    /// The compiler's library folders, for a link through the cache.
    pub link_dirs: Option<std::ffi::OsString>,
    /// Links and archives may go through the cache (not sccache's).
    pub links: bool,
    /// fbuild's store of links and archives (`fbuild_core::link_store`).
    pub link_store: Option<PathBuf>,
    /// zccache's daemon socket, when it speaks fbuild's wire.
    pub endpoint: Option<PathBuf>,
    /// Where this plan is remembered (forgotten when it fails).
    pub slot: Option<PathBuf>,
}

impl Target {
    /// Forgets the remembered plan this came from (its cache machinery
    /// failed: the next call asks the coordinator, which checks again).
    pub fn forget(&self) {
        if let Some(slot) = &self.slot {
            crate::remembered::forget(slot);
        }
    }
}

/// The real tool with the user's arguments, untouched.
pub fn real_command(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Tool {
    Tool::new(&target.real)
        .args(&prepared.original)
        .env(marker.0, &marker.1)
}
