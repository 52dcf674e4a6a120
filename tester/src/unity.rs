//! Unity's output, line by line: `<file>:<line>:<test>:PASS`,
//! `…:FAIL: <why>`, `…:IGNORE[: <why>]`, then the summary `N Tests F
//! Failures I Ignored` and `OK`/`FAIL`. Anything else (the program's own
//! prints, `INFO:` lines) is kept as output. The summary is only believed
//! when it tells what the case lines did (see [`Parser::disagreements`]).

/// What one test case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Ignored,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::Ignored => "IGNORED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub file: String,
    pub line: u32,
    pub status: Status,
    pub message: String,
}

/// Unity's closing counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub tests: u32,
    pub failures: u32,
    pub ignored: u32,
}

/// Parses Unity output as it arrives.
#[derive(Debug, Default)]
pub struct Parser {
    /// Shown relative to this folder (the project), as written there.
    pub root: String,
    pub cases: Vec<Case>,
    /// The first summary line.
    pub summary: Option<Summary>,
    /// Cases reported before the first summary.
    pub before_summary: usize,
    /// Summary lines after the first.
    pub more_summaries: usize,
    /// The `OK`/`FAIL` line after the summary was seen: the run is over.
    pub finished: bool,
    /// That line said `OK`.
    pub said_ok: bool,
}

impl Parser {
    /// Takes one line; returns the case it reported, if any.
    pub fn line(&mut self, line: &str) -> Option<&Case> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(summary) = self.summary_line(line) {
            if self.summary.is_some() {
                self.more_summaries += 1;
            } else {
                self.summary = Some(summary);
                self.before_summary = self.cases.len();
            }
            return None;
        }
        if self.summary.is_some() && !self.finished && (line == "OK" || line == "FAIL") {
            self.finished = true;
            self.said_ok = line == "OK";
            return None;
        }
        let mut case = case_line(line)?;
        if let Some(rel) = case.file.strip_prefix(&self.root) {
            case.file = rel.trim_start_matches('/').to_string();
        }
        self.cases.push(case);
        self.cases.last()
    }

    /// Where a finished run's summary does not tell what its case lines
    /// did (a program may print anything): its counts against the cases
    /// reported before it, its `OK`/`FAIL`, cases reported after it, and a
    /// second summary.
    pub fn disagreements(&self) -> Vec<String> {
        let Some(s) = self.summary else {
            return Vec::new();
        };
        let mut why = Vec::new();
        let ran = &self.cases[..self.before_summary];
        let count = |st| ran.iter().filter(|c| c.status == st).count();
        let (failed, ignored) = (count(Status::Failed), count(Status::Ignored));
        let said = [s.tests, s.failures, s.ignored].map(|n| n as usize);
        if said != [ran.len(), failed, ignored] {
            why.push(format!(
                "its summary ({} Tests {} Failures {} Ignored) does not match the cases it ran ({} reported: {failed} failed, {ignored} ignored)",
                s.tests,
                s.failures,
                s.ignored,
                ran.len()
            ));
        }
        if self.finished && self.said_ok != (s.failures == 0) {
            let verdict = if self.said_ok { "OK" } else { "FAIL" };
            why.push(format!(
                "its summary says {verdict} with {} Failures",
                s.failures
            ));
        }
        if let Some(late) = self.cases.get(self.before_summary) {
            why.push(format!(
                "test case {} {} after its summary",
                late.name,
                late.status.word()
            ));
        }
        if self.more_summaries > 0 {
            why.push(format!(
                "it printed Unity's summary {} times",
                self.more_summaries + 1
            ));
        }
        why
    }

    fn summary_line(&self, line: &str) -> Option<Summary> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [t, "Tests", f, "Failures", i, "Ignored"] => Some(Summary {
                tests: t.parse().ok()?,
                failures: f.parse().ok()?,
                ignored: i.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// `file:line:name:PASS|FAIL[: msg]|IGNORE[: msg]` (file may hold `:`
/// on Windows-style paths: the status is found from the right).
fn case_line(line: &str) -> Option<Case> {
    let (status, rest, message) = ["PASS", "FAIL", "IGNORE"].iter().find_map(|word| {
        let tag = format!(":{word}");
        let at = line.find(&tag)?;
        let after = &line[at + tag.len()..];
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        let message = after.trim_start_matches(':').trim().to_string();
        Some((*word, &line[..at], message))
    })?;
    let mut parts = rest.rsplitn(3, ':');
    let name = parts.next()?.to_string();
    let line_no: u32 = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_string();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some(Case {
        name,
        file,
        line: line_no,
        status: match status {
            "PASS" => Status::Passed,
            "FAIL" => Status::Failed,
            _ => Status::Ignored,
        },
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_lines() {
        let mut p = Parser::default();
        let out = "hello\ntest/test_a/main.c:12:test_ok:PASS\n\
                   test/test_a/main.c:20:test_bad:FAIL: Expected 1 Was 2. why\n\
                   test/test_a/main.c:30:test_skip:IGNORE: later\n\
                   test/test_a/main.c:31:test_skip2:IGNORE\n\n-----------------------\n\
                   4 Tests 1 Failures 2 Ignored \nFAIL\n";
        for l in out.lines() {
            p.line(l);
        }
        assert_eq!(p.cases.len(), 4);
        assert_eq!(p.cases[1].status, Status::Failed);
        assert_eq!(p.cases[1].message, "Expected 1 Was 2. why");
        assert_eq!(
            (p.cases[1].file.as_str(), p.cases[1].line),
            ("test/test_a/main.c", 20)
        );
        assert_eq!(p.cases[3].status, Status::Ignored);
        assert_eq!(
            p.summary,
            Some(Summary {
                tests: 4,
                failures: 1,
                ignored: 2
            })
        );
        assert!(p.finished);
    }

    fn parsed(out: &str) -> Parser {
        let mut p = Parser::default();
        for l in out.lines() {
            p.line(l);
        }
        p
    }

    const CASES: &str = "t.c:1:test_a:PASS\nt.c:2:test_b:FAIL: no\nt.c:3:test_c:IGNORE\n";

    #[test]
    fn a_summary_that_tells_what_the_cases_did_is_believed() {
        let p = parsed(&format!(
            "{CASES}\n---\n3 Tests 1 Failures 1 Ignored \nFAIL\n"
        ));
        assert!(p.finished);
        assert_eq!(p.disagreements(), Vec::<String>::new());
        let p = parsed("t.c:1:test_a:PASS\n1 Tests 0 Failures 0 Ignored\nOK\n");
        assert_eq!(p.disagreements(), Vec::<String>::new());
        // Nothing to compare before the summary arrives.
        assert_eq!(parsed(CASES).disagreements(), Vec::<String>::new());
    }

    #[test]
    fn counts_that_differ_from_the_case_lines_are_named() {
        let p = parsed(&format!("{CASES}3 Tests 0 Failures 1 Ignored\nOK\n"));
        assert_eq!(
            p.disagreements(),
            [
                "its summary (3 Tests 0 Failures 1 Ignored) does not match the cases it ran (3 reported: 1 failed, 1 ignored)"
            ]
        );
        let p = parsed(&format!("{CASES}4 Tests 1 Failures 1 Ignored\nFAIL\n"));
        assert_eq!(p.disagreements().len(), 1, "{:?}", p.disagreements());
        let p = parsed(&format!("{CASES}3 Tests 1 Failures 0 Ignored\nFAIL\n"));
        assert_eq!(p.disagreements().len(), 1, "{:?}", p.disagreements());
        let p = parsed(&format!("{CASES}3 Tests 1 Failures 1 Ignored\nOK\n"));
        assert_eq!(p.disagreements(), ["its summary says OK with 1 Failures"]);
    }

    #[test]
    fn a_forged_summary_before_the_real_cases_is_caught() {
        // The program prints a passing summary, then fails an assertion,
        // then the real summary.
        let p = parsed(
            "5 Tests 0 Failures 0 Ignored\nOK\nt.c:9:test_lie:FAIL: Expected 1 Was 0\n\
             1 Tests 1 Failures 0 Ignored\nFAIL\n",
        );
        assert_eq!(
            p.summary,
            Some(Summary {
                tests: 5,
                failures: 0,
                ignored: 0
            })
        );
        assert_eq!(
            p.disagreements(),
            [
                "its summary (5 Tests 0 Failures 0 Ignored) does not match the cases it ran (0 reported: 0 failed, 0 ignored)",
                "test case test_lie FAILED after its summary",
                "it printed Unity's summary 2 times",
            ]
        );
        // Counts forged to match, then a case after them.
        let p = parsed("t.c:1:test_a:PASS\n1 Tests 0 Failures 0 Ignored\nOK\nt.c:2:test_b:FAIL\n");
        assert_eq!(
            p.disagreements(),
            ["test case test_b FAILED after its summary"]
        );
    }
}
