//! Notices on stderr while a plan waits on an install: the first after
//! about a second, then one per `FBUILD_NOTICE_SECS`; none if the plan
//! comes sooner. Under `make -j16` sixteen shims wait for the same install:
//! one of them speaks for the build — whoever holds the build's notice lock
//! (an OS lock per process group, so a shim that finishes or dies hands
//! over to the next) — and each notice is one `write`, so lines never
//! interleave.

use std::fs::File;
use std::time::{Duration, Instant};

use fbuild_core::Settings;
use fbuild_core::install_status::{InstallPhase, InstallStatus};
use fbuild_core::protocol::Event;
use fbuild_core::time::FIRST_NOTICE;

use crate::fallback::{process_group, say};

pub struct Notices<'a> {
    tool: &'a str,
    settings: &'a Settings,
    start: Instant,
    next: Duration,
    interval: Duration,
    last: Option<InstallStatus>,
    /// The build's notice lock, once this shim holds it.
    speaker: Option<File>,
}

impl<'a> Notices<'a> {
    pub fn new(tool: &'a str, settings: &'a Settings) -> Self {
        Notices {
            tool,
            settings,
            start: Instant::now(),
            next: FIRST_NOTICE,
            interval: settings.notice_interval,
            last: None,
            speaker: None,
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        if let Event::Install(status) = event {
            self.last = Some(status.clone());
        }
        let elapsed = self.start.elapsed();
        if elapsed < self.next {
            return;
        }
        while self.next <= elapsed {
            self.next += self.interval;
        }
        // Only while something is still being installed: a finished install
        // (the plan is about to come) is not worth a line.
        let unfinished = self
            .last
            .as_ref()
            .is_some_and(|s| s.phase < InstallPhase::Installed);
        if !unfinished || !self.is_speaker() {
            return;
        }
        let Some(status) = &self.last else { return };
        say(&format!(
            "fbuild: {} waits for {} ({} s)",
            self.tool,
            status.summary(),
            elapsed.as_secs()
        ));
    }

    /// Whether this shim speaks for its build (taking the lock if free).
    fn is_speaker(&mut self) -> bool {
        if self.speaker.is_none() {
            self.speaker = self.try_lock();
        }
        self.speaker.is_some()
    }

    fn try_lock(&self) -> Option<File> {
        let Some(dir) = self.settings.home.scratch_dir() else {
            return File::open("/dev/null").ok(); // nowhere to agree: speak
        };
        let path = dir.join(format!(".notices-{}.lock", process_group()));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ok()?;
        lock_nonblocking(&file).then_some(file)
    }
}

#[cfg(unix)]
fn lock_nonblocking(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on an fd we own; released when the file is closed
    // (this shim execs or exits), or by the OS if it dies.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn lock_nonblocking(_file: &File) -> bool {
    true
}
