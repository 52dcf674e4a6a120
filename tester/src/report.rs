//! What `fbuild test` tells: a line per test case as it arrives, a table
//! per environment and suite at the end, and JUnit XML for CI systems.

use std::fmt::Write as _;
use std::time::Duration;

use crate::unity::{Case, Status, Summary};

/// One suite's run in one environment.
#[derive(Debug, Clone)]
pub struct SuiteResult {
    pub env: String,
    pub suite: String,
    pub cases: Vec<Case>,
    pub summary: Option<Summary>,
    /// Why the suite failed as a whole (build failed, crash, timeout, no
    /// summary, exit code of a custom suite), if it did.
    pub error: Option<String>,
    pub duration: Duration,
}

impl SuiteResult {
    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.cases.iter().any(|c| c.status == Status::Failed)
    }

    fn count(&self, s: Status) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }
}

/// `  [native] test_math  test_add  PASSED` (and where and why for a failure).
pub fn case_line(env: &str, suite: &str, c: &Case) -> String {
    let mut line = format!("  [{env}] {suite}  {}  {}", c.name, c.status.word());
    if c.status != Status::Passed {
        let _ = write!(line, "  {}:{}", c.file, c.line);
        if !c.message.is_empty() {
            let _ = write!(line, ": {}", c.message);
        }
    }
    line
}

/// The summary table and the totals line.
pub fn table(results: &[SuiteResult], wall: Duration) -> String {
    let mut out = String::new();
    let w_env = results
        .iter()
        .map(|r| r.env.len())
        .max()
        .unwrap_or(0)
        .max(11);
    let w_suite = results
        .iter()
        .map(|r| r.suite.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(
        out,
        "{:w_env$}  {:w_suite$}  {:7}  {:>6} {:>6} {:>7}  {:>8}",
        "Environment", "Suite", "Status", "Passed", "Failed", "Ignored", "Duration"
    );
    for r in results {
        let status = if r.passed() { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            out,
            "{:w_env$}  {:w_suite$}  {status:7}  {:>6} {:>6} {:>7}  {:>6.2} s",
            r.env,
            r.suite,
            r.count(Status::Passed),
            r.count(Status::Failed),
            r.count(Status::Ignored),
            r.duration.as_secs_f64()
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "{:w_env$}  {:w_suite$}  ^ {e}", "", "");
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let cases: Vec<&Case> = results.iter().flat_map(|r| &r.cases).collect();
    let n = |s| cases.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        out,
        "{}: {passed} passed, {} failed; {}: {} passed, {} failed, {} ignored; in {:.2} s",
        fbuild_core::words::count(results.len(), "suite", "suites"),
        results.len() - passed,
        fbuild_core::words::count(cases.len(), "test case", "test cases"),
        n(Status::Passed),
        n(Status::Failed),
        n(Status::Ignored),
        wall.as_secs_f64()
    );
    out
}

/// JUnit XML: one `<testsuite>` per environment and suite, a `<testcase>`
/// per case (`<failure>`, `<skipped>`), and a suite that failed as a whole
/// as an `<error>` case.
pub fn junit(results: &[SuiteResult]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |s| results.iter().map(|r| r.count(s)).sum::<usize>();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let _ = writeln!(
        x,
        "<testsuites name=\"fbuild test\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"{errors}\">",
        results
            .iter()
            .map(|r| r.cases.len() + usize::from(r.error.is_some()))
            .sum::<usize>(),
        total(Status::Failed),
        total(Status::Ignored),
    );
    for r in results {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}:{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            esc(&r.env),
            esc(&r.suite),
            r.cases.len() + usize::from(r.error.is_some()),
            r.count(Status::Failed),
            r.count(Status::Ignored),
            usize::from(r.error.is_some()),
            r.duration.as_secs_f64()
        );
        for c in &r.cases {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}.{}\" file=\"{}\" line=\"{}\"",
                esc(&c.name),
                esc(&r.env),
                esc(&r.suite),
                esc(&c.file),
                c.line
            );
            match c.status {
                Status::Passed => x.push_str("/>\n"),
                Status::Failed => {
                    let _ = writeln!(
                        x,
                        "><failure message=\"{}\">{}:{}</failure></testcase>",
                        esc(&c.message),
                        esc(&c.file),
                        c.line
                    );
                }
                Status::Ignored => {
                    let _ = writeln!(x, "><skipped message=\"{}\"/></testcase>", esc(&c.message));
                }
            }
        }
        if let Some(e) = &r.error {
            let _ = writeln!(
                x,
                "    <testcase name=\"(suite)\" classname=\"{}.{}\"><error message=\"{}\"/></testcase>",
                esc(&r.env),
                esc(&r.suite),
                esc(e)
            );
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}
