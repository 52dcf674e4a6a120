//! Whether a compiler colours its diagnostics into a pipe when asked
//! (`-fdiagnostics-color=always`), probed once per compiler: a cache runs
//! the compiler with a pipe for its stderr, so a compile for a terminal
//! carries the flag and a hit replays the colours a miss showed. Shims get
//! it in their plan, `fbuild build` in its toolchain.

use std::path::Path;
use std::sync::Arc;

use fbuild_core::time::HEALTH_CHECK_TIMEOUT;
use fbuild_core::tool::{Runner, Tool};

use crate::process::{PerCompiler, ProbeDir};

/// The flag GCC (4.9 and later) and Clang colour diagnostics with when
/// their stderr is not a terminal (a cache's pipe).
pub const COLOR_FLAG: &str = "-fdiagnostics-color=always";

#[derive(Default)]
pub struct TakesColour {
    probes: PerCompiler<bool>,
}

impl TakesColour {
    /// [`COLOR_FLAG`] when `compiler` takes it (a failed probe: none).
    pub async fn flag(&self, runner: &Arc<dyn Runner>, compiler: &Path) -> Option<String> {
        let takes = self.probes.get(runner, compiler, probe).await;
        takes.unwrap_or(false).then(|| COLOR_FLAG.to_string())
    }
}

/// Runs `compiler -fdiagnostics-color=always -E` on an empty file: a
/// compiler that takes the flag succeeds silently (TinyCC: "invalid
/// option"; one that only warns about it would warn at every compile).
fn probe(runner: &dyn Runner, compiler: &Path) -> Result<bool, String> {
    tracing::info!(compiler = %compiler.display(), "probe: diagnostics colour flag");
    let dir = ProbeDir::new(&[("probe.c", "int x;\n")])?;
    let probe = Tool::new(compiler)
        .args([COLOR_FLAG, "-E", "probe.c"])
        .current_dir(dir.path());
    let out = runner
        .output(&probe, HEALTH_CHECK_TIMEOUT)
        .map_err(|e| e.to_string())?;
    Ok(out.status.success() && out.stderr.is_empty())
}
