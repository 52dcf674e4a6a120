//! A program compiled and linked in one call (`cc -o prog prog.c`, as
//! zstd's `have_pthread` and autoconf's `conftest`) through the `cc` shim
//! (`fbuild_core::one_step`): the second time it comes from the caches
//! byte for byte without the compiler; a changed header is compiled and
//! linked again; a compile error or a link error is the compiler's, exit
//! code and message, and a failed link is not kept; no temporary file is
//! left; an output that is the source is refused as the compiler refuses
//! it; four identical calls at once leave a whole program. The real `cc`
//! is a wrapper that logs each call, then runs the
//! system's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

struct Setup {
    home: TestHome,
    work: tempfile::TempDir,
    real: common::shims::Wrappers,
    tmp: tempfile::TempDir,
}

fn setup() -> Setup {
    let home = TestHome::new();
    home.shims();
    let real = common::shims::Wrappers::new(&[("cc", "/usr/bin/cc")]);
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("inc")).unwrap();
    Setup {
        home,
        work,
        real,
        tmp: tempfile::tempdir().unwrap(),
    }
}

/// `-I inc` apart: the link is keyed with it joined (`-Iinc`).
const LINE: &[&str] = &["-O2", "-I", "inc", "-Wall", "-o", "prog", "prog.c", "-lm"];

impl Setup {
    /// `cc args…` through the shim, the wrapper first on PATH and TMPDIR
    /// a folder that is not there; then no temporary file is left.
    fn cc(&self, args: &[&str]) -> Output {
        let out = self.cc_beside_others(args);
        self.assert_no_leftovers();
        out
    }

    /// As [`Setup::cc`], other calls maybe running.
    fn cc_beside_others(&self, args: &[&str]) -> Output {
        self.home
            .shim("cc", self.work.path())
            .env("PATH", self.real.path_first())
            // Not there: the split's temporary files are fbuild's own
            // (gcc's one call works with such a TMPDIR).
            .env("TMPDIR", self.tmp.path().join("gone"))
            .args(args)
            .output()
            .unwrap()
    }

    fn assert_no_leftovers(&self) {
        let left: Vec<_> = std::fs::read_dir(self.home.path().join("builds/one-step"))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.work.path().join(name), text).unwrap();
    }

    fn file(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// The compiler's calls since the last look (the coordinator's own
    /// checks of the compiler, which read no source, not counted).
    fn calls(&self) -> Vec<String> {
        self.real
            .take_log()
            .lines()
            .filter(|l| l.contains("prog") || l.contains("one-step/"))
            .map(str::to_string)
            .collect()
    }
}

/// A logged call that links the split's object (to a private output).
fn is_link(call: &str) -> bool {
    call.contains("one-step/") && call.contains("/prog ") && !call.contains(" -c ")
}

fn run(program: &Path) -> String {
    let out = std::process::Command::new(program).output().unwrap();
    assert_ok(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_program_of_one_call_comes_from_the_caches_and_follows_its_headers() {
    let s = setup();
    s.write("inc/value.h", "#define VALUE 1\n");
    s.write(
        "prog.c",
        "#include <math.h>\n#include <stdio.h>\n#include \"value.h\"\n\
         int main(void) { printf(\"%d\\n\", VALUE + (int)sqrt(0.0)); return 0; }\n",
    );
    assert_ok(&s.cc(LINE));
    let calls = s.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.contains("-I inc -Wall -c prog.c -o ")),
        "compiled apart: {calls:?}"
    );
    assert!(calls.iter().any(|c| is_link(c)), "linked: {calls:?}");
    assert_eq!(run(&s.file("prog")), "1");
    let first = std::fs::read(s.file("prog")).unwrap();
    // The same bytes as the compiler's own one call.
    let plain = std::process::Command::new("cc")
        .current_dir(s.work.path())
        .args(["-O2", "-I", "inc", "-Wall", "-o", "plain", "prog.c", "-lm"])
        .output()
        .unwrap();
    assert_ok(&plain);
    assert_eq!(
        std::fs::read(s.file("plain")).unwrap(),
        first,
        "as cc builds it"
    );

    std::fs::remove_file(s.file("prog")).unwrap();
    assert_ok(&s.cc(LINE));
    assert_eq!(s.calls(), Vec::<String>::new(), "the compiler ran again");
    assert_eq!(std::fs::read(s.file("prog")).unwrap(), first);

    // A header the program includes changes: compiled and linked again.
    s.write("inc/value.h", "#define VALUE 22\n");
    assert_ok(&s.cc(LINE));
    assert_eq!(run(&s.file("prog")), "22");
    assert!(!s.calls().is_empty(), "a changed header ran nothing");
    let out = s.home.run(&["cache", "stats", "--json"]);
    assert_ok(&out);
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["link_store"]["entries"], 2, "{figures}");
}

#[test]
fn compile_and_link_errors_are_the_compilers_and_a_failed_link_is_not_kept() {
    let s = setup();
    s.write("prog.c", "int main(void) { return missing_semicolon }\n");
    let out = s.cc(LINE);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prog.c:1:"), "{err}");
    assert!(!s.file("prog").exists());

    s.write(
        "prog.c",
        "int missing(void);\nint main(void) { return missing(); }\n",
    );
    for _ in 0..2 {
        // An older program is gone after a failed link, as with `ld`.
        s.write("prog", "an older program");
        let out = s.cc(LINE);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("undefined reference to `missing'"), "{err}");
        let calls = s.calls();
        assert!(
            calls.iter().any(|c| is_link(c)),
            "the failed link came from the store: {calls:?}"
        );
        assert!(!s.file("prog").exists());
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_as_the_compiler_refuses_it() {
    let s = setup();
    let source = "int main(void) { return 0; }\n";
    s.write("prog.c", source);
    for line in [
        &["-o", "prog.c", "prog.c"][..],
        &["-o", "./prog.c", "prog.c"],
    ] {
        let out = s.cc(line);
        assert_eq!(out.status.code(), Some(1), "{line:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("same as output file"), "{err}");
        assert_eq!(std::fs::read_to_string(s.file("prog.c")).unwrap(), source);
    }
}

#[test]
fn identical_calls_at_once_leave_a_whole_program() {
    let s = setup();
    s.write("inc/value.h", "#define VALUE 7\n");
    s.write(
        "prog.c",
        "#include <stdio.h>\n#include \"value.h\"\nint main(void) { printf(\"%d\\n\", VALUE); return 0; }\n",
    );
    let outs: Vec<Output> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| s.cc_beside_others(LINE)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    s.assert_no_leftovers();
    for out in &outs {
        assert_ok(out);
    }
    assert_eq!(run(&s.file("prog")), "7");
    // And the kept entry is whole: served, it runs.
    std::fs::remove_file(s.file("prog")).unwrap();
    assert_ok(&s.cc(LINE));
    assert_eq!(run(&s.file("prog")), "7");
}
