//! A [`Runner`] for unit tests: answers tools by rules the test gives,
//! records every tool it was asked to run (so a test asserts how many
//! probes a decision took, instead of grepping a log), and runs nothing.

use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use super::exec::status_with_code;
use super::{RunError, Runner, Tool};

type Matches = Box<dyn Fn(&Tool) -> bool + Send + Sync>;
type Answers = Box<dyn Fn(&Tool) -> Result<Output, RunError> + Send + Sync>;

/// Answers by the first rule whose matcher takes the tool; a tool no rule
/// takes fails to start ("not found"), as a missing program would.
#[derive(Default)]
pub struct Fake {
    rules: Mutex<Vec<(Matches, Answers)>>,
    calls: Mutex<Vec<Tool>>,
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    /// Tools that `matches` takes are answered by `answer`.
    pub fn on(
        &self,
        matches: impl Fn(&Tool) -> bool + Send + Sync + 'static,
        answer: impl Fn(&Tool) -> Result<Output, RunError> + Send + Sync + 'static,
    ) -> &Fake {
        self.rules
            .lock()
            .unwrap()
            .push((Box::new(matches), Box::new(answer)));
        self
    }

    /// Tools whose command line contains `needle` exit with `code`,
    /// printing `stdout` and `stderr`.
    pub fn when(&self, needle: &str, code: i32, stdout: &str, stderr: &str) -> &Fake {
        let needle = needle.to_string();
        let out = exited(code, stdout, stderr);
        self.on(
            move |t| t.line().contains(&needle),
            move |_| Ok(out.clone()),
        )
    }

    /// Every tool asked for so far, in order.
    pub fn calls(&self) -> Vec<Tool> {
        self.calls.lock().unwrap().clone()
    }

    /// How many tools whose command line contains `needle` were asked for.
    pub fn count(&self, needle: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.line().contains(needle))
            .count()
    }
}

impl Runner for Fake {
    fn output(&self, tool: &Tool, _limit: Duration) -> Result<Output, RunError> {
        self.calls.lock().unwrap().push(tool.clone());
        let rules = self.rules.lock().unwrap();
        match rules.iter().find(|(matches, _)| matches(tool)) {
            Some((_, answer)) => answer(tool),
            None => Err(RunError::Start {
                program: tool.name(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            }),
        }
    }
}

/// The output of a tool that exited with `code`.
pub fn exited(code: i32, stdout: &str, stderr: &str) -> Output {
    Output {
        status: status_with_code(code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_rule_and_counts() {
        let fake = Fake::new();
        fake.when("--version", 0, "zccache 1.15.8\n", "");
        let version = Tool::new("zccache").arg("--version");
        let out = fake.output(&version, Duration::ZERO).unwrap();
        assert_eq!(out.stdout, b"zccache 1.15.8\n");
        assert!(out.status.success());
        let other = fake.output(&Tool::new("gcc"), Duration::ZERO).unwrap_err();
        assert!(matches!(other, RunError::Start { .. }));
        assert_eq!((fake.count("--version"), fake.calls().len()), (1, 2));
    }
}
