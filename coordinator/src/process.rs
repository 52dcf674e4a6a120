//! Processes the coordinator looks for by command line, and compiler
//! probes: private scratch folders for them, and their answers kept per
//! compiler. (Tools are started through `fbuild_core::tool`.)

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use fbuild_core::tool::Runner;

use crate::single_flight::Memo;

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

/// A compiler as a probe saw it: a reinstalled compiler (another size or
/// mtime) is probed again.
type CompilerKey = (PathBuf, Option<(u64, SystemTime)>);

/// The answers of one probe, one per compiler as it is now; concurrent
/// callers wait for the one run, a failed run is run again next time.
pub struct PerCompiler<T> {
    memo: Memo<CompilerKey, Result<T, String>>,
}

impl<T> Default for PerCompiler<T> {
    fn default() -> Self {
        PerCompiler {
            memo: Memo::default(),
        }
    }
}

impl<T: Clone + Send + 'static> PerCompiler<T> {
    /// `probe` of `compiler` (on a blocking thread), or its kept answer.
    pub async fn get(
        &self,
        runner: &Arc<dyn Runner>,
        compiler: &Path,
        probe: fn(&dyn Runner, &Path) -> Result<T, String>,
    ) -> Result<T, String> {
        let stamp = std::fs::metadata(compiler)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        let key = (compiler.to_path_buf(), stamp);
        self.memo
            .get_or_try_run(&key, || {
                let (runner, compiler) = (Arc::clone(runner), compiler.to_path_buf());
                async move {
                    tokio::task::spawn_blocking(move || probe(&*runner, &compiler))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
            })
            .await
    }
}
