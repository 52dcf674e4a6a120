//! `fbuild test --json-output` / `--json-output-path`: the results as
//! PlatformIO's JSON test report (version 1.0: totals, then one entry per
//! environment and suite with its test cases), for CI scripts that read
//! PlatformIO's.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::report::SuiteResult;
use crate::unity::Status;

/// The report of `results`, run from `project_dir` in `wall`.
pub fn report(results: &[SuiteResult], project_dir: &Path, wall: Duration) -> Value {
    let suites: Vec<Value> = results.iter().map(suite).collect();
    let sum = |key: &str| -> u64 { suites.iter().filter_map(|s| s[key].as_u64()).sum() };
    json!({
        "version": "1.0",
        "project_dir": project_dir.to_string_lossy(),
        "duration": wall.as_secs_f64(),
        "testcase_nums": sum("testcase_nums"),
        "error_nums": sum("error_nums"),
        "failure_nums": sum("failure_nums"),
        "skipped_nums": sum("skipped_nums"),
        "test_suites": suites,
    })
}

fn suite(r: &SuiteResult) -> Value {
    let count = |s: Status| r.cases.iter().filter(|c| c.status == s).count();
    let status = match (&r.error, r.passed()) {
        (Some(_), _) => "ERRORED",
        (None, true) => "PASSED",
        (None, false) => "FAILED",
    };
    let cases: Vec<Value> = r
        .cases
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "status": match c.status {
                    Status::Passed => "PASSED",
                    Status::Failed => "FAILED",
                    Status::Ignored => "SKIPPED",
                },
                "message": (!c.message.is_empty()).then_some(&c.message),
                "stdout": null,
                "duration": null,
                "exception": null,
                "source": { "file": c.file, "line": c.line },
            })
        })
        .collect();
    json!({
        "env_name": r.env,
        "test_name": r.suite,
        "status": status,
        "duration": r.duration.as_secs_f64(),
        "testcase_nums": r.cases.len(),
        "error_nums": usize::from(r.error.is_some()),
        "failure_nums": count(Status::Failed),
        "skipped_nums": count(Status::Ignored),
        "error": r.error,
        "test_cases": cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unity::Case;

    #[test]
    fn totals_and_statuses_as_platformio_writes_them() {
        let case = |name: &str, status| Case {
            name: name.into(),
            file: "test/t/main.c".into(),
            line: 7,
            status,
            message: String::new(),
        };
        let results = [
            SuiteResult {
                env: "native".into(),
                suite: "t".into(),
                cases: vec![case("a", Status::Passed), case("b", Status::Failed)],
                summary: None,
                error: None,
                duration: Duration::from_millis(5),
            },
            SuiteResult {
                env: "uno".into(),
                suite: "t".into(),
                cases: vec![case("c", Status::Ignored)],
                summary: None,
                error: Some("timed out".into()),
                duration: Duration::from_millis(5),
            },
        ];
        let r = report(&results, Path::new("/p"), Duration::from_secs(1));
        assert_eq!(
            (
                &r["testcase_nums"],
                &r["failure_nums"],
                &r["error_nums"],
                &r["skipped_nums"]
            ),
            (&json!(3), &json!(1), &json!(1), &json!(1))
        );
        assert_eq!(r["test_suites"][0]["status"], "FAILED");
        assert_eq!(r["test_suites"][1]["status"], "ERRORED");
        assert_eq!(r["test_suites"][1]["test_cases"][0]["status"], "SKIPPED");
        assert_eq!(r["test_suites"][0]["test_cases"][1]["source"]["line"], 7);
    }
}
