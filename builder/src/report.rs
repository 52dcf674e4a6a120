//! Where the builder's words go: the library never prints. Every line goes
//! to the [`Reporter`] the driver installs ([`set`]), with its [`Kind`], so
//! the driver decides where each goes (cargo's `Shell`, arduino-cli's
//! injected logger); without one, [`Stderr`] says them as a Unix tool
//! does: results (listings, a build's outcome and size report) on stdout,
//! progress and diagnostics on stderr — `fbuild build | grep RAM` finds
//! the size report. (Progress bars are terminal drawing, owned by
//! `progress`.)

use std::io::Write;
use std::sync::OnceLock;

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// What a command was asked to list (`fbuild lib`'s tree).
    Listing,
    /// A build's outcome: per environment, the size report, what was
    /// removed.
    Summary,
    /// Progress and facts (`compiling x`, `installing …`).
    Note,
    /// Something the user should look at; the build goes on.
    Warning,
    /// Why the build failed.
    Error,
    /// `-v`: commands and why each runs.
    Verbose,
}

/// Takes the builder's lines and its tools' output.
pub trait Reporter: Send + Sync {
    /// One line (no newline at its end).
    fn line(&self, kind: Kind, text: &str);
    /// A tool's output as it came (a compiler's diagnostics).
    fn tool_output(&self, bytes: &[u8]);
}

/// The default: listings and summaries on stdout, the rest on stderr, each
/// line in one write (lines of parallel compiles never interleave
/// mid-line).
#[derive(Debug)]
pub struct Stderr {
    /// A build's summaries on stdout: the command's results. Off when the
    /// builds serve another result (`fbuild test`: its report is).
    pub summaries_on_stdout: bool,
}

impl Default for Stderr {
    fn default() -> Self {
        Stderr {
            summaries_on_stdout: true,
        }
    }
}

impl Reporter for Stderr {
    fn line(&self, kind: Kind, text: &str) {
        let line = format!("{text}\n");
        let _ = match kind {
            Kind::Summary if !self.summaries_on_stdout => {
                std::io::stderr().lock().write_all(line.as_bytes())
            }
            Kind::Listing | Kind::Summary => {
                let mut out = std::io::stdout().lock();
                // Flushed at once: a result is not held back behind the
                // progress that follows it on stderr.
                out.write_all(line.as_bytes()).and_then(|()| out.flush())
            }
            _ => std::io::stderr().lock().write_all(line.as_bytes()),
        };
    }

    fn tool_output(&self, bytes: &[u8]) {
        fbuild_core::console::write_raw(fbuild_core::console::Stream::Stderr, bytes);
    }
}

static REPORTER: OnceLock<Box<dyn Reporter>> = OnceLock::new();

/// Installs the reporter of this process (once; later calls are ignored:
/// the first driver to set one owns the output).
pub fn set(reporter: Box<dyn Reporter>) {
    let _ = REPORTER.set(reporter);
}

fn reporter() -> &'static dyn Reporter {
    REPORTER
        .get_or_init(|| Box::new(Stderr::default()))
        .as_ref()
}

/// Lines said on one thread while [`capturing`] (they are said as well).
pub type Said = Vec<(Kind, String)>;

thread_local! {
    static SAID: std::cell::RefCell<Option<Said>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`; returns its result and the lines it said on this thread.
pub fn capturing<T>(f: impl FnOnce() -> T) -> (T, Said) {
    let outer = SAID.with(|l| l.borrow_mut().replace(Vec::new()));
    let out = f();
    let said = SAID
        .with(|l| std::mem::replace(&mut *l.borrow_mut(), outer))
        .unwrap_or_default();
    (out, said)
}

/// Says `text` as `kind`.
pub fn say(kind: Kind, text: impl AsRef<str>) {
    SAID.with(|l| {
        if let Some(said) = l.borrow_mut().as_mut() {
            said.push((kind, text.as_ref().to_string()));
        }
    });
    crate::terminal::printing(|| reporter().line(kind, text.as_ref()));
}

/// A tool's output, passed on as it came.
pub fn tool_output(bytes: &[u8]) {
    if !bytes.is_empty() {
        crate::terminal::printing(|| reporter().tool_output(bytes));
    }
}
