//! Unity's output, line by line: `<file>:<line>:<test>:PASS`,
//! `…:FAIL: <why>`, `…:IGNORE[: <why>]`, then the summary `N Tests F
//! Failures I Ignored` and `OK`/`FAIL`. Anything else (the program's own
//! prints, `INFO:` lines) is kept as output.

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
    pub summary: Option<Summary>,
    /// The `OK`/`FAIL` line after the summary was seen: the run is over.
    pub finished: bool,
}

impl Parser {
    /// Takes one line; returns the case it reported, if any.
    pub fn line(&mut self, line: &str) -> Option<&Case> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(summary) = self.summary_line(line) {
            self.summary = Some(summary);
            return None;
        }
        if self.summary.is_some() && (line == "OK" || line == "FAIL") {
            self.finished = true;
            return None;
        }
        let mut case = case_line(line)?;
        if let Some(rel) = case.file.strip_prefix(&self.root) {
            case.file = rel.trim_start_matches('/').to_string();
        }
        self.cases.push(case);
        self.cases.last()
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
}
