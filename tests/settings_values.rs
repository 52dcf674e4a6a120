//! Absurd values of duration settings and flags (issue 22): no binary
//! panics. A setting the shims read is replaced by its default with one
//! warning and the compile goes on (through zccache's wire, whose budget
//! reads `FBUILD_ZCCACHE_SILENCE_SECS`); the driver warns and works; a
//! flag is a usage error (exit 2) naming the value.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use common::*;

const BAD: [&str; 6] = ["1e20", "inf", "nan", "-1", "abc", "1e308"];
const SETTINGS: [&str; 3] = [
    "FBUILD_IDLE_SECS",
    "FBUILD_NOTICE_SECS",
    "FBUILD_ZCCACHE_SILENCE_SECS",
];

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn shims_compile_whatever_a_duration_setting_says() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("x.c"), "int x(void) { return 42; }\n").unwrap();
    let object = work.path().join("x.o");
    for var in SETTINGS {
        let home = TestHome::new();
        let cc = home.shims().join("cc");
        // zccache installed and its daemon up: later compiles take the wire.
        let mut first = Command::new(&cc);
        without_fbuild_vars(&mut first)
            .arg("--version")
            .env("FBUILD_HOME", home.path())
            .env("FBUILD_ZCCACHE_URL", mirror_url());
        assert_ok(&first.output().unwrap());
        for bad in BAD {
            let _ = std::fs::remove_file(&object);
            let mut cmd = Command::new(&cc);
            without_fbuild_vars(&mut cmd)
                .args(["-c", "x.c", "-o", "x.o"])
                .current_dir(work.path())
                .env("FBUILD_HOME", home.path())
                .env("FBUILD_ZCCACHE_URL", mirror_url())
                .env(var, bad)
                // A build of its own: the warning is said once per build.
                .process_group(0);
            let out = cmd.output().unwrap();
            let err = text(&out);
            assert!(out.status.success(), "{var}={bad}: {:?}\n{err}", out.status);
            assert!(object.is_file(), "{var}={bad}: no object\n{err}");
            assert!(!err.contains("panicked"), "{var}={bad}:\n{err}");
            let warning = format!("fbuild: warning: {var}: {bad:?} is not a number of seconds");
            assert_eq!(err.matches(&warning).count(), 1, "{var}={bad}:\n{err}");
            assert!(err.contains("using the default"), "{err}");
        }
        let status = home.status_json();
        assert!(
            status["zccache"]["compiles"]
                .as_str()
                .is_some_and(|c| c.starts_with("direct")),
            "the compiles did not take zccache's wire: {status}"
        );
    }
}

#[test]
fn the_driver_warns_and_works() {
    let home = TestHome::new();
    for var in SETTINGS {
        for bad in BAD {
            let out = home.fbuild(&["shims"]).env(var, bad).output().unwrap();
            let err = text(&out);
            assert!(out.status.success(), "{var}={bad}: {err}");
            assert!(!err.contains("panicked"), "{var}={bad}:\n{err}");
            assert!(
                err.contains(&format!("fbuild: warning: {var}: {bad:?}")),
                "{err}"
            );
        }
    }
}

#[test]
fn duration_flags_are_usage_errors() {
    let home = TestHome::new();
    let flags: [&[&str]; 3] = [
        &["test", "/nonexistent"],
        &["deploy", "/nonexistent", "--emulator"],
        &["monitor", "--port", "/nonexistent"],
    ];
    for flag in flags {
        for bad in BAD.iter().chain(&["0"]) {
            let timeout = format!("--timeout={bad}");
            let mut args = flag.to_vec();
            args.push(&timeout);
            let out = home.run(&args);
            let err = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{args:?}:\n{err}");
            assert!(
                err.contains("--timeout") && err.contains(&format!("{bad:?}")),
                "{args:?}: {err}"
            );
        }
    }
}
