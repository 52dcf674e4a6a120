//! `fbuild test` as PlatformIO's users script it: `--list-tests`,
//! `--json-output` (stdout is PlatformIO's JSON report alone, read here by
//! Python's json module), `--json-output-path`, `--without-building`.

mod common;

use std::process::Output;

use common::*;

fn test(home: &TestHome, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["test", dir.to_str().unwrap(), "-e", "native"];
    all.extend_from_slice(args);
    home.fbuild(&all)
        .env("FBUILD_ZCCACHE", "off")
        .output()
        .unwrap()
}

#[test]
fn reports_for_scripts_list_json_and_a_run_without_building() {
    let home = TestHome::new();
    let dir = example("unit-tests");

    // Nothing built yet: --without-building says so, per suite.
    let out = test(&home, dir.path(), &["--without-building"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("was not built"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = test(&home, dir.path(), &["--list-tests", "--json-output"]);
    assert_ok(&out);
    let listed = python_reads(
        "import json,sys; print(sorted(t['test_name'] for t in json.load(sys.stdin)))",
        &out.stdout,
    );
    assert_eq!(listed, "['test_checksum', 'test_ring']");
    assert!(
        !dir.path().join(".fbuild/test/test_ring").exists(),
        "listing built"
    );

    let report = dir.path().join("report.json");
    let out = test(
        &home,
        dir.path(),
        &[
            "--json-output",
            "--json-output-path",
            report.to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let totals = python_reads(
        "import json,sys; d=json.load(sys.stdin); \
         print(d['testcase_nums'], d['failure_nums'], [s['status'] for s in d['test_suites']])",
        &out.stdout,
    );
    assert_eq!(totals, "7 0 ['PASSED', 'PASSED']");
    assert_eq!(std::fs::read(&report).unwrap(), out.stdout.trim_ascii_end());
    // The builds and the table went to stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 suites: 2 passed"), "{err}");
    // A suite's files by their path in the project.
    assert!(
        err.contains("compiling test/test_checksum/test_checksum.c"),
        "{err}"
    );

    // Built now: --without-building runs it (nothing compiled).
    let out = test(&home, dir.path(), &["--without-building", "-v"]);
    assert_ok(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("compiling"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 test cases: 7 passed"));
    // A port named for the host is said unused, not silently ignored.
    let out = test(
        &home,
        dir.path(),
        &["--without-building", "--test-port", "/dev/nowhere"],
    );
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the port /dev/nowhere is not used"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
