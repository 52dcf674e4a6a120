//! After the compiles: the core archive, the link, `.hex`/`.eep` (AVR), the
//! size report against the board's limits, and `compile_commands.json`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fbuild_platforms::Board;

use super::engine::{Job, Runner};
use super::state::{BuildState, command_hash};

/// Runs `program args` unless `output` is up to date for these inputs.
/// Returns false when it had nothing to do.
pub async fn step(
    runner: &Runner,
    state: &mut BuildState,
    output: &Path,
    program: &Path,
    args: Vec<String>,
    inputs: &[PathBuf],
) -> Result<Option<i32>> {
    let hash = step_hash(program, &args);
    if state.up_to_date(output, hash) {
        return Ok(None);
    }
    let code = runner.run_direct(program, &args).await?;
    if code == 0 {
        state.record(output, hash, inputs);
    }
    Ok(Some(code))
}

/// The hash a step's record is kept under: program and arguments.
pub fn step_hash(program: &Path, args: &[String]) -> u64 {
    let mut command = vec![program.display().to_string()];
    command.extend(args.iter().cloned());
    command_hash(&command)
}

/// Flash and RAM use from `avr-size -A` output.
pub fn parse_size(text: &str) -> (u64, u64) {
    let (mut flash, mut ram) = (0, 0);
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(size)) = (
            parts.next(),
            parts.next().and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue;
        };
        if matches!(name, ".text" | ".data" | ".bootloader") {
            flash += size;
        }
        if matches!(name, ".data" | ".bss" | ".noinit") {
            ram += size;
        }
    }
    (flash, ram)
}

/// `RAM:   [=         ]   9.2% (used 190 bytes from 2048 bytes)`; fails
/// when a limit is exceeded.
pub fn report(board: &Board, flash: u64, ram: u64) -> Result<String> {
    let line = |label: &str, used: u64, max: u64| {
        let pct = used as f64 * 100.0 / max as f64;
        let bars = ((pct / 10.0).round() as usize).min(10);
        format!(
            "{label:<6} [{:<10}] {pct:5.1}% (used {used} bytes from {max} bytes)",
            "=".repeat(bars)
        )
    };
    let text = format!(
        "{}\n{}",
        line("RAM:", ram, board.ram),
        line("Flash:", flash, board.flash)
    );
    if flash > board.flash || ram > board.ram {
        bail!(
            "{text}\nthe firmware does not fit the {} ({}): flash {flash}/{} bytes, RAM {ram}/{} bytes; \
             make the sketch smaller or pick a bigger board",
            board.name,
            board.mcu,
            board.flash,
            board.ram
        );
    }
    Ok(text)
}

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
                "arguments": j.command(),
            })
        })
        .collect();
    let text = serde_json::to_vec_pretty(&entries)?;
    if std::fs::read(path).ok().as_deref() != Some(&text[..]) {
        std::fs::write(path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_sections() {
        let text = "fw.elf  :\nsection size addr\n.data 36 8388864\n.text 1606 0\n.bss 166 8388900\n.comment 17 0\n";
        assert_eq!(parse_size(text), (1642, 202));
    }
}
