//! Compiler probes through the shims (`fbuild_core::probe_store`): a
//! program from stdin compiled and linked to `/dev/null`, as zstd's
//! makefiles ask at every make, is answered from the store the second
//! time — success or failure, exit code and messages — without running the
//! compiler; a program that names another file, another program, another
//! compiler, or the cache off runs it. The real `cc` here is a wrapper that
//! logs each call, then runs the system's.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::*;

struct Setup {
    home: TestHome,
    work: tempfile::TempDir,
    real: common::shims::Wrappers,
}

fn setup() -> Setup {
    let home = TestHome::new();
    home.shims();
    let real = common::shims::Wrappers::new(&[("cc", "/usr/bin/cc")]);
    Setup {
        home,
        work: tempfile::tempdir().unwrap(),
        real,
    }
}

impl Setup {
    /// The `cc` shim with `stdin`, the wrapper first on PATH.
    fn probe(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        let mut child = self
            .home
            .shim("cc", self.work.path())
            .env("PATH", self.real.path_first())
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        let bytes = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        out
    }

    /// Calls of the real compiler so far for a program on stdin (the
    /// coordinator's own checks of the compiler are not counted).
    fn ran(&self) -> usize {
        self.real
            .log()
            .lines()
            .filter(|l| l.split(' ').any(|w| w == "-"))
            .count()
    }

    /// Calls of the real compiler with one of `args` alone.
    fn ran_alone(&self, args: &[&str]) -> usize {
        self.real
            .log()
            .lines()
            .filter(|l| args.iter().any(|a| *l == format!("cc {a}")))
            .count()
    }

    fn wrapper(&self) -> std::path::PathBuf {
        self.real.tool("cc")
    }
}

const MAIN: &[u8] = b"int main(int argc, char* argv[]) { (void)argc; (void)argv; return 0; }\n";

fn code_and_err(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn probes_are_answered_from_the_store_success_or_failure() {
    let s = setup();
    let noexec = [
        "-O3",
        "-z",
        "noexecstack",
        "-x",
        "c",
        "-Werror",
        "-",
        "-o",
        "/dev/null",
    ];
    assert_ok(&s.probe(&noexec, MAIN, &[]));
    assert_eq!(s.ran(), 1);
    assert_ok(&s.probe(&noexec, MAIN, &[]));
    assert_eq!(s.ran(), 1, "the second probe ran the compiler");

    // A failure is an answer: the same code and message, from the store.
    let bad = ["-Wl,--no-such-flag", "-x", "c", "-", "-o", "/dev/null"];
    let first = code_and_err(&s.probe(&bad, MAIN, &[]));
    assert_eq!(first.0, Some(1), "{}", first.1);
    assert!(first.1.contains("no-such-flag"), "{}", first.1);
    assert_eq!(s.ran(), 2);
    assert_eq!(code_and_err(&s.probe(&bad, MAIN, &[])), first);
    assert_eq!(s.ran(), 2);

    // The assembler probe (nothing on stdin but a newline).
    let asm = [
        "-Wa,--noexecstack",
        "-x",
        "assembler",
        "-Werror",
        "-c",
        "-",
        "-o",
        "/dev/null",
    ];
    assert_ok(&s.probe(&asm, b"\n", &[]));
    assert_ok(&s.probe(&asm, b"\n", &[]));
    assert_eq!(s.ran(), 3);

    // The compiler's own queries (zstd's `cc -v`, `cc --version`).
    for (query, says) in [
        ("--version", "Free Software Foundation"),
        ("-v", "gcc version"),
        ("--version", "Free Software Foundation"),
        ("-v", "gcc version"),
    ] {
        let out = s.probe(&[query], b"", &[]);
        assert_ok(&out);
        assert!(said(&out).contains(says), "{query}: {}", said(&out));
    }
    assert_eq!(s.ran_alone(&["--version", "-v"]), 2);

    // Another program is another probe; a broken one fails, and stays so.
    let broken = b"int main(void) { return }\n";
    assert_eq!(s.probe(&noexec, broken, &[]).status.code(), Some(1));
    assert_eq!(s.probe(&noexec, broken, &[]).status.code(), Some(1));
    assert_eq!(s.ran(), 4);
}

#[test]
fn probes_that_could_read_other_files_or_another_compiler_run_again() {
    let s = setup();
    let args = ["-x", "c", "-", "-o", "/dev/null"];
    // A header that is missing today may be there tomorrow: never kept.
    let include = b"#include <stdio.h>\nint main(void) { return 0; }\n";
    for _ in 0..2 {
        assert_ok(&s.probe(&args, include, &[]));
    }
    assert_eq!(s.ran(), 2);
    // The cache off: the compiler each time.
    for _ in 0..2 {
        assert_ok(&s.probe(&args, MAIN, &[("FBUILD_CACHE", "none")]));
    }
    assert_eq!(s.ran(), 4);
    // Kept, then the compiler changes (its mtime): asked again.
    assert_ok(&s.probe(&args, MAIN, &[]));
    assert_ok(&s.probe(&args, MAIN, &[]));
    assert_eq!(s.ran(), 5);
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(s.wrapper())
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_ok(&s.probe(&args, MAIN, &[]));
    assert_eq!(s.ran(), 6);
}

#[test]
fn a_program_from_stdin_to_a_real_output_is_compiled_as_usual() {
    let s = setup();
    // A megabyte on stdin through a probe: nothing blocks.
    let mut big = b"static const char pad[] = \"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1 << 20));
    big.extend_from_slice(b"\";\nint main(void) { return pad[0] == 'x' ? 0 : 1; }\n");
    assert_ok(&s.probe(&["-x", "c", "-", "-o", "/dev/null"], &big, &[]));
    // Not a probe (a real output): stdin reaches the compiler untouched.
    let out = s.probe(&["-x", "c", "-", "-o", "prog"], &big, &[]);
    assert_ok(&out);
    let ran = std::process::Command::new(s.work.path().join("prog"))
        .status()
        .unwrap();
    assert!(ran.success());
    assert!(Path::new(&s.work.path().join("prog")).is_file());
}
