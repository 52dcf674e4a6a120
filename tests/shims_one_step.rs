//! A program compiled and linked in one call (`cc -o prog prog.c`, as
//! zstd's `have_pthread` and autoconf's `conftest`) through the `cc` shim
//! (`fbuild_core::one_step`): the second time it comes from the caches
//! byte for byte without the compiler; a changed header is compiled and
//! linked again; a compile error or a link error is the compiler's, exit
//! code and message, and a failed link is not kept; no temporary object is
//! left. The real `cc` is a wrapper that logs each call, then runs the
//! system's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

struct Setup {
    home: TestHome,
    work: tempfile::TempDir,
    real: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

fn setup() -> Setup {
    let home = TestHome::new();
    home.shims();
    let real = tempfile::tempdir().unwrap();
    common::shims::logging_wrappers(real.path(), &[("cc", "/usr/bin/cc")]);
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("inc")).unwrap();
    Setup {
        home,
        work,
        real,
        tmp: tempfile::tempdir().unwrap(),
    }
}

const LINE: &[&str] = &["-O2", "-Iinc", "-Wall", "-o", "prog", "prog.c", "-lm"];

impl Setup {
    /// `cc args…` through the shim, the wrapper first on PATH and TMPDIR
    /// a folder of the test's.
    fn cc(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.real.path().display(),
            std::env::var("PATH").unwrap()
        );
        let out = self
            .home
            .shim("cc", self.work.path())
            .env("PATH", path)
            .env("TMPDIR", self.tmp.path())
            .args(args)
            .output()
            .unwrap();
        let left: Vec<_> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
        out
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
        let log = self.real.path().join("log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines()
            .filter(|l| l.contains("prog"))
            .map(str::to_string)
            .collect()
    }
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
        calls.iter().any(|c| c.contains(" -c prog.c -o ")),
        "compiled apart: {calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.contains("-o prog ")),
        "linked: {calls:?}"
    );
    assert_eq!(run(&s.file("prog")), "1");
    let first = std::fs::read(s.file("prog")).unwrap();
    // The same bytes as the compiler's own one call.
    let plain = std::process::Command::new("cc")
        .current_dir(s.work.path())
        .args(["-O2", "-Iinc", "-Wall", "-o", "plain", "prog.c", "-lm"])
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
        let out = s.cc(LINE);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("undefined reference to `missing'"), "{err}");
        let calls = s.calls();
        assert!(
            calls.iter().any(|c| c.contains("-o prog ")),
            "the failed link came from the store: {calls:?}"
        );
        assert!(!s.file("prog").exists());
    }
}
