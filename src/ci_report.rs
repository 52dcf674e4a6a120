//! `fbuild ci`'s results: one row per example × board, the table people
//! read and the JUnit XML CI systems read.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use super::Task;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed,
    /// Not built: an earlier build failed (no `--keep-going`).
    Skipped,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "SKIPPED",
        }
    }
}

pub struct Row {
    pub example: PathBuf,
    pub board: String,
    pub outcome: Outcome,
    /// Files compiled, from the build's summary line.
    pub compiled: Option<u64>,
    pub flash: Option<u64>,
    pub ram: Option<u64>,
    pub secs: f64,
    /// What the build said (its stderr), for a failure.
    pub output: String,
}

impl Row {
    pub fn of(task: &Task, ok: bool, said: &str, start: Instant) -> Row {
        Row {
            example: task.example.clone(),
            board: task.board.clone(),
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failed
            },
            compiled: number_before(said, " compiled"),
            flash: used(said, "Flash:"),
            ram: used(said, "RAM:"),
            secs: start.elapsed().as_secs_f64(),
            output: said.to_string(),
        }
    }

    pub fn failed(task: &Task, why: String, start: Instant) -> Row {
        let mut row = Row::of(task, false, "", start);
        row.output = why;
        row
    }

    pub fn skipped(task: &Task) -> Row {
        let mut row = Row::of(task, false, "", Instant::now());
        row.outcome = Outcome::Skipped;
        row.secs = 0.0;
        row
    }
}

/// `N` of `… (N compiled, …` in the build's summary line.
fn number_before(said: &str, marker: &str) -> Option<u64> {
    let line = said.lines().rev().find(|l| l.contains(marker))?;
    let head = &line[..line.find(marker)?];
    head.rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// `N` of `Flash: … (used N bytes …` (or `Flash: used N bytes`).
fn used(said: &str, label: &str) -> Option<u64> {
    let line = said.lines().find(|l| l.trim_start().starts_with(label))?;
    let rest = &line[line.find("used ")? + 5..];
    rest.split_whitespace().next()?.parse().ok()
}

fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

/// The table, on stdout (results), and the totals.
pub fn table(rows: &[Row], cwd: &Path, secs: f64) {
    let width = rows
        .iter()
        .map(|r| shown(&r.example, cwd).len())
        .max()
        .unwrap_or(7)
        .max(7);
    let board_width = rows.iter().map(|r| r.board.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<board_width$}  {:<7}  {:>8}  {:>8}  {:>8}  {:>7}",
        "Example", "Board", "Result", "Compiled", "Flash", "RAM", "Seconds"
    );
    let num = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
    for r in rows {
        println!(
            "{:<width$}  {:<board_width$}  {:<7}  {:>8}  {:>8}  {:>8}  {:>7.2}",
            shown(&r.example, cwd),
            r.board,
            r.outcome.word(),
            num(r.compiled),
            num(r.flash),
            num(r.ram),
            r.secs
        );
    }
    let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
    println!(
        "{} succeeded, {} failed, {} skipped in {secs:.2} s",
        count(Outcome::Success),
        count(Outcome::Failed),
        count(Outcome::Skipped)
    );
}

/// The results as JUnit XML: a test case per example × board (its class
/// the board), a failure with the build's output.
pub fn junit(file: &Path, rows: &[Row], cwd: &Path) -> Result<()> {
    let failures = rows.iter().filter(|r| r.outcome == Outcome::Failed).count();
    let skipped = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .count();
    let total: f64 = rows.iter().map(|r| r.secs).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"fbuild ci\" \
         tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{total:.3}\">\n",
        rows.len()
    );
    for r in rows {
        xml.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&r.board),
            escape(&shown(&r.example, cwd)),
            r.secs
        ));
        match r.outcome {
            Outcome::Success => xml.push_str("/>\n"),
            Outcome::Skipped => xml.push_str(">\n      <skipped/>\n    </testcase>\n"),
            Outcome::Failed => xml.push_str(&format!(
                ">\n      <failure message=\"the build failed\">{}</failure>\n    </testcase>\n",
                escape(&r.output)
            )),
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    let tmp = file.with_extension("xml.tmp");
    std::fs::write(&tmp, xml)
        .and_then(|()| std::fs::rename(&tmp, file))
        .with_context(|| format!("writing {}", file.display()))
}

/// Text for XML: the five special characters escaped, terminal colour
/// sequences (`ESC [ … m`) and other control characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}
