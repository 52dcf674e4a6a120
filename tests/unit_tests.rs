//! `fbuild test`: suites built per environment and run on the host and in
//! simavr, Unity's per-case results, failures as a whole (crash, hang,
//! exit code), programs whose summary lies (a bad exit, a forged summary,
//! a hang after it), output without newlines, filters, JUnit XML, and the
//! example project.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::simduino::{PTY, Simduino};
use common::{TestHome, assert_ok, example, processes_with};

const MIXED: &str = r#"#include <unity.h>
#ifdef ARDUINO
#include <Arduino.h>
#endif
static int calls;
void setUp(void) { calls++; }
void test_pass(void) { TEST_ASSERT_EQUAL_INT(4, 2 + 2); }
void test_fail(void) { TEST_ASSERT_EQUAL_INT_MESSAGE(5, 2 + 2, "arithmetic"); }
void test_ignored(void) { TEST_IGNORE_MESSAGE("not yet"); }
void test_string(void) { TEST_ASSERT_EQUAL_STRING("abc", "abd"); }
void test_float(void) { TEST_ASSERT_EQUAL_FLOAT(0.5f, 1.0f / 2.0f); }
void test_setup_ran(void) { TEST_ASSERT_GREATER_THAN(0, calls); }
static void all(void) {
  UNITY_BEGIN();
  RUN_TEST(test_pass);
  RUN_TEST(test_fail);
  RUN_TEST(test_ignored);
  RUN_TEST(test_string);
  RUN_TEST(test_float);
  RUN_TEST(test_setup_ran);
  UNITY_END();
}
#ifdef ARDUINO
void setup(void) { all(); }
void loop(void) {}
#else
int main(void) { all(); return 0; }
#endif
"#;

const HANG: &str = "#include <unity.h>\nvoid test_before(void) { TEST_PASS(); }\nvoid test_spins(void) { for (volatile int i = 1; i; ) {} }\nint main(void) { UNITY_BEGIN(); RUN_TEST(test_before); RUN_TEST(test_spins); return UNITY_END(); }\n";

const CRASH: &str = "#include <unity.h>\nvoid test_ok(void) { TEST_ASSERT(1); }\nvoid test_null(void) { volatile int *p = 0; *p = 1; }\nint main(void) { UNITY_BEGIN(); RUN_TEST(test_ok); RUN_TEST(test_null); return UNITY_END(); }\n";

fn project(dir: &Path) -> PathBuf {
    let files: &[(&str, &str)] = &[
        (
            "platformio.ini",
            "[env:native]\nplatform = native\ntest_ignore = test_exit\n\n[env:uno]\nplatform = atmelavr\nboard = uno\nframework = arduino\ntest_filter = test_mixed\n\n[env:custom]\nplatform = native\ntest_framework = custom\ntest_filter = test_exit\n",
        ),
        ("src/main.c", "int main(void) { return 0; }\n"),
        ("test/test_mixed/test_main.c", MIXED),
        ("test/test_hang/test_main.c", HANG),
        ("test/test_crash/test_main.c", CRASH),
        ("test/test_exit/main.c", "int main(void) { return 3; }\n"),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir.to_path_buf()
}

fn test(home: &TestHome, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["test", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    home.fbuild(&all)
        .env("FBUILD_ZCCACHE", "off")
        .output()
        .unwrap()
}

/// `test`, failing (and killing fbuild) if it has not returned within
/// `limit`.
fn test_within(home: &TestHome, dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut all = vec!["test", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let child = home
        .fbuild(&all)
        .env("FBUILD_ZCCACHE", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            common::kill(pid, libc::SIGKILL);
            panic!("fbuild test did not return within {limit:?}");
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The case lines of `env`, as `name STATUS  where: why`.
fn cases(out: &str, env: &str) -> Vec<String> {
    let tag = format!("  [{env}] test_mixed  ");
    out.lines()
        .filter_map(|l| l.strip_prefix(&tag))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_same_cases_pass_fail_and_are_ignored_on_the_host_and_in_simavr() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path());
    let xml = tmp.path().join("results.xml");
    let out = test(
        &home,
        &dir,
        &[
            "-e",
            "native",
            "-e",
            "uno",
            "-f",
            "test_mixed",
            "--junit-xml",
            xml.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "failing cases must fail the run");
    let text = stdout(&out);
    let f = "test/test_mixed/test_main.c";
    let want = vec![
        "test_pass  PASSED".to_string(),
        format!("test_fail  FAILED  {f}:8: Expected 5 Was 4. arithmetic"),
        format!("test_ignored  IGNORED  {f}:9: not yet"),
        format!("test_string  FAILED  {f}:10: Expected 'abc' Was 'abd'"),
        "test_float  PASSED".to_string(),
        "test_setup_ran  PASSED".to_string(),
    ];
    assert_eq!(cases(&text, "native"), want, "{text}");
    assert_eq!(cases(&text, "uno"), want, "{text}");
    assert!(
        text.contains("2 suites: 0 passed, 2 failed; 12 test cases: 6 passed, 4 failed, 2 ignored"),
        "{text}"
    );

    // The JUnit XML, read by a real XML parser (Python's).
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, xml.etree.ElementTree as E\nr = E.parse(sys.argv[1]).getroot()\nprint(r.tag, r.get('tests'), r.get('failures'), r.get('skipped'))\nfor s in r:\n  print(s.get('name'), [(c.get('name'), [x.tag for x in c]) for c in s])")
        .arg(&xml)
        .output()
        .unwrap();
    assert_ok(&parsed);
    let p = stdout(&parsed);
    assert!(p.starts_with("testsuites 12 4 2\n"), "{p}");
    assert!(p.contains("native:test_mixed [('test_pass', []), ('test_fail', ['failure']), ('test_ignored', ['skipped'])"), "{p}");
    assert!(p.contains("uno:test_mixed "), "{p}");
}

#[test]
fn a_hang_times_out_and_a_crash_is_named() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path());
    // Built first, so the timing below is the run's.
    let _ = test(
        &home,
        &dir,
        &["-e", "native", "-f", "test_hang", "--timeout", "1"],
    );
    let start = Instant::now();
    let out = test(
        &home,
        &dir,
        &["-e", "native", "-f", "test_hang", "--timeout", "2"],
    );
    let took = start.elapsed();
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("[native] test_hang  test_before  PASSED"),
        "{text}"
    );
    assert!(
        text.contains("timed out after 2 s (after test_before)"),
        "{text}"
    );
    // ~2 s; 30 s leaves a loaded machine room and is still half of the
    // default timeout (60 s) that a --timeout ignored would mean.
    assert!(
        took < Duration::from_secs(30),
        "the hang was not cut short: {took:?}"
    );

    let out = test(&home, &dir, &["-e", "native", "-f", "test_crash"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains(
            "crashed: killed by signal 11 (SIGSEGV: a bad memory access) (after test_ok)"
        ),
        "{text}"
    );
}

#[test]
fn filters_ignores_and_custom_suites() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path());
    // native ignores test_exit (test_ignore); -i drops two more.
    let out = test(
        &home,
        &dir,
        &["-e", "native", "-i", "test_hang", "-i", "test_c*"],
    );
    let text = stdout(&out);
    let suites: Vec<&str> = text.lines().filter(|l| l.starts_with("native ")).collect();
    assert_eq!(suites.len(), 1, "{text}");
    assert!(suites[0].starts_with("native       test_mixed"), "{text}");

    // test_framework = custom: judged by the exit code.
    let out = test(&home, &dir, &["-e", "custom"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("exited with code 3"),
        "{}",
        stdout(&out)
    );

    let out = test(&home, &dir, &["-e", "native", "-f", "nothing*"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no test suite matches the filters (suites: test_crash, test_exit, test_hang, test_mixed)"), "{err}");
}

#[test]
fn the_example_passes_on_the_host_and_in_simavr() {
    let home = TestHome::new();
    let dir = example("unit-tests");
    let out = test(&home, dir.path(), &[]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("4 suites: 4 passed, 0 failed; 14 test cases: 14 passed"),
        "{text}"
    );
    // A warm rerun builds nothing.
    let again = test(&home, dir.path(), &[]);
    assert_ok(&again);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!err.contains("compiling"), "{err}");
}

#[test]
fn a_board_on_a_serial_port_is_flashed_and_read() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path());
    // A board resets when its port opens; simduino's pty cannot, so the
    // suite waits before printing, as PlatformIO's examples do.
    std::fs::create_dir_all(dir.join("test/test_board")).unwrap();
    std::fs::write(
        dir.join("test/test_board/test_main.cpp"),
        "#include <Arduino.h>\n#include <unity.h>\nvoid test_pass(void) { TEST_ASSERT_EQUAL(3, 1 + 2); }\nvoid test_fail(void) { TEST_ASSERT_EQUAL_HEX8(0x10, 0x11); }\nvoid setup() {\n  delay(1500);\n  UNITY_BEGIN();\n  RUN_TEST(test_pass);\n  RUN_TEST(test_fail);\n  UNITY_END();\n}\nvoid loop() {}\n",
    )
    .unwrap();
    let _sim = Simduino::start();
    let out = test(
        &home,
        &dir,
        &[
            "-e",
            "uno",
            "-f",
            "test_board",
            "--upload-port",
            PTY,
            "--timeout",
            "60",
        ],
    );
    let text = stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("uploading to {PTY} with avrdude")),
        "{err}"
    );
    assert!(
        text.contains("[uno] test_board  test_pass  PASSED"),
        "{text}\n{err}"
    );
    assert!(
        text.contains("[uno] test_board  test_fail  FAILED  test/test_board/test_main.cpp:4: Expected 0x10 Was 0x11"),
        "{text}"
    );
    assert!(!out.status.success());
}

/// Suites that lie: what they print is not what happened.
fn lying_project(dir: &Path) -> PathBuf {
    let ok = "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n#include <unity.h>\nvoid test_ok(void) { TEST_ASSERT(1); }\n";
    let files: &[(&str, String)] = &[
        (
            "platformio.ini",
            "[env:native]\nplatform = native\n\n[env:uno]\nplatform = atmelavr\nboard = uno\nframework = arduino\ntest_filter = test_spins_after\n".into(),
        ),
        // A sanitizer's failing exit looks the same.
        (
            "test/test_exit3/main.c",
            format!("{ok}int main(void) {{ UNITY_BEGIN(); RUN_TEST(test_ok); UNITY_END(); exit(3); }}\n"),
        ),
        (
            "test/test_forged/main.c",
            format!("{ok}void test_lie(void) {{ TEST_ASSERT_EQUAL_INT(1, 0); }}\nint main(void) {{\n  UNITY_BEGIN();\n  printf(\"\\n-----------------------\\n5 Tests 0 Failures 0 Ignored \\nOK\\n\");\n  fflush(stdout);\n  RUN_TEST(test_lie);\n  return 0;\n}}\n"),
        ),
        (
            "test/test_hangs_after/main.c",
            format!("{ok}int main(void) {{ UNITY_BEGIN(); RUN_TEST(test_ok); UNITY_END(); sleep(300); return 0; }}\n"),
        ),
        // Exits at once, leaving a child that holds its output open.
        (
            "test/test_forks_after/main.c",
            format!("{ok}int main(void) {{ UNITY_BEGIN(); RUN_TEST(test_ok); UNITY_END(); fflush(stdout); if (fork() == 0) sleep(300); return 0; }}\n"),
        ),
        // Passes, leaving a child that closed its output behind.
        (
            "test/test_leaves_child/main.c",
            format!("{ok}int main(void) {{ UNITY_BEGIN(); RUN_TEST(test_ok); int r = UNITY_END(); fflush(stdout); if (fork() == 0) {{ close(1); close(2); sleep(300); }} return r; }}\n"),
        ),
        // 20 MB without a newline, then an honest run: its first case
        // line ends the flooded line.
        (
            "test/test_flood/main.c",
            format!("{ok}int main(void) {{\n  for (long i = 0; i < 20L << 20; i++) putchar('x');\n  UNITY_BEGIN();\n  RUN_TEST(test_ok);\n  return UNITY_END();\n}}\n"),
        ),
        // A summary that matches its cases, then the firmware runs on
        // (loop()) instead of ending at UNITY_END().
        (
            "test/test_spins_after/main.cpp",
            "#include <Arduino.h>\n#include <unity.h>\nvoid test_ok(void) { TEST_ASSERT(1); }\nvoid setup() {\n  UNITY_BEGIN();\n  RUN_TEST(test_ok);\n  Serial.println(\"1 Tests 0 Failures 0 Ignored \");\n  Serial.println(\"OK\");\n}\nvoid loop() {}\n".into(),
        ),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn a_summary_is_not_believed_when_the_program_then_exits_badly_or_fails_a_case() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = lying_project(tmp.path());
    let out = test(
        &home,
        &dir,
        &["-e", "native", "-f", "test_exit3", "-f", "test_forged"],
    );
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("[native] test_exit3  ERROR  exited with 3 after its summary\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "[native] test_forged  test_lie  FAILED  test/test_forged/main.c:6: Expected 1 Was 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("[native] test_forged  ERROR  its summary (5 Tests 0 Failures 0 Ignored) does not match the cases it ran (0 reported: 0 failed, 0 ignored); test case test_lie FAILED after its summary\n"),
        "{text}"
    );
    assert!(text.contains("2 suites: 0 passed, 2 failed"), "{text}");
}

#[test]
fn a_program_that_hangs_after_its_summary_is_killed_at_the_timeout() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = lying_project(tmp.path());
    // Returns (the build included) well before the default 60 s.
    let out = test_within(
        &home,
        &dir,
        &[
            "-e",
            "native",
            "-f",
            "test_hangs_after",
            "-f",
            "test_forks_after",
            "-f",
            "test_leaves_child",
            "--timeout",
            "2",
        ],
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("[native] test_hangs_after  test_ok  PASSED"),
        "{text}"
    );
    assert!(
        text.contains(
            "[native] test_hangs_after  ERROR  did not exit within 2 s after its summary (killed)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "[native] test_forks_after  ERROR  it exited (0), but a process it started kept its \
             output open past 2 s (all killed)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("[native] test_leaves_child  test_ok  PASSED"),
        "{text}"
    );
    let left = processes_with(&dir.to_string_lossy());
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn a_firmware_that_runs_on_after_its_summary_times_out_in_simavr() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = lying_project(tmp.path());
    let out = test(&home, &dir, &["-e", "uno", "--timeout", "3"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("[uno] test_spins_after  test_ok  PASSED"),
        "{text}"
    );
    assert!(
        text.contains(
            "[uno] test_spins_after  ERROR  did not exit within 3 s after its summary (killed)\n"
        ),
        "{text}"
    );
}

#[test]
fn output_without_newlines_is_read_through() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = lying_project(tmp.path());
    let out = test(&home, &dir, &["-e", "native", "-f", "test_flood"]);
    let text = stdout(&out);
    assert_ok(&out);
    assert!(
        text.contains("1 suite: 1 passed, 0 failed; 1 test case: 1 passed"),
        "{text}"
    );
}
