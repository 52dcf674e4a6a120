//! After the compiles: running a step only when its output is out of date,
//! the size report against the board's limits (from the core's size
//! recipe), and `compile_commands.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::engine::{Job, Runner};
use super::recipes::Recipes;
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

/// Flash and RAM use as the core's size recipe reports them, and the
/// board's limits.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage {
    pub flash: u64,
    pub ram: Option<u64>,
    pub max_flash: Option<u64>,
    pub max_ram: Option<u64>,
}

impl Usage {
    /// Sums group 1 of `recipe.size.regex` (flash) and
    /// `recipe.size.regex.data` (RAM) over every line of `output`; limits
    /// from `upload.maximum_size` and `upload.maximum_data_size`.
    pub fn from_recipes(recipes: &Recipes, output: &str) -> Result<Usage> {
        let sum = |key: &str| -> Result<Option<u64>> {
            let Some(pattern) = recipes.get(key) else {
                return Ok(None);
            };
            let re = regex::RegexBuilder::new(pattern)
                .multi_line(true)
                .build()
                .with_context(|| format!("the core's {key} is not a valid regex: {pattern:?}"))?;
            Ok(Some(
                re.captures_iter(output)
                    .filter_map(|c| c.get(1)?.as_str().parse::<u64>().ok())
                    .sum(),
            ))
        };
        let limit = |key: &str| recipes.get(key).and_then(|v| v.trim().parse::<u64>().ok());
        Ok(Usage {
            flash: sum("recipe.size.regex")?.unwrap_or(0),
            ram: sum("recipe.size.regex.data")?,
            max_flash: limit("upload.maximum_size"),
            max_ram: limit("upload.maximum_data_size"),
        })
    }

    /// `RAM:   [=         ]   9.2% (used 190 bytes from 2048 bytes)`; fails
    /// when a limit is exceeded.
    pub fn report(&self, board: &str) -> Result<String> {
        let line = |label: &str, used: u64, max: Option<u64>| match max {
            Some(max) if max > 0 => {
                let pct = used as f64 * 100.0 / max as f64;
                let bars = ((pct / 10.0).round() as usize).min(10);
                format!(
                    "{label:<6} [{:<10}] {pct:5.1}% (used {used} bytes from {max} bytes)",
                    "=".repeat(bars)
                )
            }
            _ => format!("{label:<6} used {used} bytes"),
        };
        let mut lines = Vec::new();
        if let Some(ram) = self.ram {
            lines.push(line("RAM:", ram, self.max_ram));
        }
        lines.push(line("Flash:", self.flash, self.max_flash));
        let text = lines.join("\n");
        let over = |used: u64, max: Option<u64>| max.is_some_and(|m| m > 0 && used > m);
        if over(self.flash, self.max_flash) || over(self.ram.unwrap_or(0), self.max_ram) {
            bail!(
                "{text}\nthe firmware does not fit the {board}: flash {}/{} bytes, RAM {}/{} bytes; \
                 make the sketch smaller or pick a bigger board",
                self.flash,
                self.max_flash.unwrap_or(0),
                self.ram.unwrap_or(0),
                self.max_ram.unwrap_or(0)
            );
        }
        Ok(text)
    }
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
