//! The size report: flash and RAM use as the core's size recipe reports
//! them (`recipe.size.regex*`), against the board's limits.

use anyhow::{Context, Result, bail};

use super::recipes::Recipes;

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
