//! Processes the coordinator looks for by command line, and private
//! scratch folders for compiler probes. (Tools are started through
//! `fbuild_core::tool`.)

use std::path::{Path, PathBuf};

/// Pids of live processes whose command line contains every one of
/// `needles` (Linux: /proc; elsewhere none are found).
pub fn pids_with_args(needles: &[&str]) -> Vec<u32> {
    fbuild_core::procs::pids_where(|args| {
        needles
            .iter()
            .all(|n| args.iter().any(|a| String::from_utf8_lossy(a).contains(n)))
    })
}

/// A private scratch directory for a compiler probe, with the given files;
/// removed when dropped. Unique per process and call (probes of different
/// compilers run concurrently).
pub struct ProbeDir(PathBuf);

impl ProbeDir {
    pub fn new(files: &[(&str, &str)]) -> Result<ProbeDir, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fbuild-probe-{}-{n}", std::process::id()));
        let probe = ProbeDir(dir);
        std::fs::create_dir_all(&probe.0)
            .map_err(|e| format!("creating {}: {e}", probe.0.display()))?;
        for (name, text) in files {
            let file = probe.0.join(name);
            std::fs::write(&file, text).map_err(|e| format!("writing {}: {e}", file.display()))?;
        }
        Ok(probe)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ProbeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
