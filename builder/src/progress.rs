//! Install progress for people: an indicatif bar when stderr is a terminal,
//! plain `fbuild:` lines otherwise (one per change of phase or message, and
//! at most one per second for bytes). An install that was already there
//! (the lock taken, the install checked, installed) says nothing: a no-op
//! build prints no install lines and flashes no empty bar.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::Instant;

use crate::report::{self, Kind};
use crate::terminal::shown;
use fbuild_core::install_status::{InstallPhase, InstallRole, InstallStatus};
use fbuild_core::time::{PROGRESS_LINE_EVERY, PROGRESS_TICK};
use indicatif::{ProgressBar, ProgressStyle};

pub struct InstallProgress {
    /// Whether stderr is a terminal: a bar, made at the first news.
    terminal: bool,
    bar: Option<ProgressBar>,
    /// Installs (`name version`) that had news: their every later phase
    /// is shown too.
    spoken: HashSet<String>,
    last: Option<(InstallPhase, InstallRole, String)>,
    last_print: Option<Instant>,
    /// The last line printed: a stalled download is not said again every
    /// second.
    last_line: String,
}

impl Default for InstallProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl InstallProgress {
    pub fn new() -> Self {
        InstallProgress {
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            spoken: HashSet::new(),
            last: None,
            last_print: None,
            last_line: String::new(),
        }
    }

    pub fn update(&mut self, s: &InstallStatus) {
        let install = format!("{} {}", s.name, s.version);
        if !s.is_news() && !self.spoken.contains(&install) {
            return;
        }
        self.spoken.insert(install);
        if self.terminal && self.bar.is_none() {
            let made = bar();
            shown(Some(made.clone()));
            self.bar = Some(made);
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}: {}", s.name, s.version, s.phase.word()));
            if let Some(total) = s.bytes_total {
                bar.set_length(total);
            }
            bar.set_position(s.bytes_done);
            return;
        }
        let key = (s.phase, s.role, s.message.clone());
        let changed = self.last.as_ref() != Some(&key);
        let bytes_due = s.phase == InstallPhase::Downloading
            && self
                .last_print
                .is_none_or(|t| t.elapsed() >= PROGRESS_LINE_EVERY);
        let line = s.summary();
        if (changed || bytes_due) && line != self.last_line {
            report::say(Kind::Note, format!("fbuild: {line}"));
            self.last = Some(key);
            self.last_print = Some(Instant::now());
            self.last_line = line;
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            shown(None);
            bar.finish_and_clear();
        }
    }
}

impl Drop for InstallProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Drop for CompileProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:40} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(PROGRESS_TICK);
    bar
}

/// Compile progress of one environment: a bar on a terminal, one
/// `fbuild: [env] compiling …` line per file otherwise (none with `-v`,
/// which prints the commands instead).
pub struct CompileProgress {
    env: String,
    verbose: bool,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl CompileProgress {
    pub fn new(env: &str, verbose: bool) -> Self {
        CompileProgress {
            env: env.to_string(),
            verbose,
            bar: std::sync::Mutex::new(None),
        }
    }

    /// `total` files are about to be compiled.
    pub fn begin(&self, total: usize) {
        if total == 0 || self.verbose || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("[{prefix}] {bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(self.env.clone());
        shown(Some(bar.clone()));
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    pub fn compiling(&self, name: &str) {
        match &*self.bar.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(bar) => {
                bar.set_message(name.to_string());
                bar.inc(1);
            }
            None if !self.verbose => report::say(
                Kind::Note,
                format!("fbuild: [{}] compiling {name}", self.env),
            ),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            shown(None);
            bar.finish_and_clear();
        }
    }
}
