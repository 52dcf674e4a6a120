//! `compile_commands.json`, for editors and clang tools.

use std::path::Path;

use anyhow::{Context, Result};

use super::engine::Job;

/// `compile_commands.json` for editors and clang tools (the compiler as the
/// first argument, without zccache).
pub fn write_compdb(path: &Path, cwd: &Path, jobs: &[Job]) -> Result<()> {
    let entries: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            serde_json::json!({
                "directory": cwd.display().to_string(),
                "file": j.unit.source.display().to_string(),
                "output": j.unit.object.display().to_string(),
                // JSON holds text: a non-UTF-8 path is shown as near as it
                // can be.
                "arguments": j
                    .command()
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let text = serde_json::to_vec_pretty(&entries)?;
    if std::fs::read(path).ok().as_deref() != Some(&text[..]) {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
