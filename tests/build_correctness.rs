//! What a build says is up to date is up to date (issue 22): a file saved
//! while its compile runs is compiled again; the first failed compile
//! starts no new one (`-k` compiles the rest and names every failure);
//! `-v` says why each step runs; I/O errors name their path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A native project in `dir`: `platformio.ini` with `extra` lines, and
/// `files` (path under the project, text).
fn native(dir: &Path, extra: &str, files: &[(&str, &str)]) {
    std::fs::write(
        dir.join("platformio.ini"),
        format!("[env:native]\nplatform = native\n{extra}"),
    )
    .unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `fbuild build DIR args…` without a compile cache (the engine alone).
fn build(home: &TestHome, dir: &Path, args: &[&str]) -> Output {
    build_cmd(home, dir, args).output().unwrap()
}

fn build_cmd(home: &TestHome, dir: &Path, args: &[&str]) -> Command {
    let mut all = vec!["build", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut cmd = home.fbuild(&all);
    cmd.env("FBUILD_ZCCACHE", "off");
    cmd
}

fn program(dir: &Path) -> String {
    let out = Command::new(dir.join(".fbuild/build/native/program"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(compiled, up to date)` from the summary line.
fn counts(out: &Output) -> (usize, usize) {
    let err = said(out);
    let line = err
        .lines()
        .find(|l| l.contains(" compiled, "))
        .unwrap_or_else(|| panic!("no summary in:\n{err}"));
    let n = |word: &str| -> usize {
        let before = line.split(word).next().unwrap();
        before
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    (n(" compiled"), n(" up to date"))
}

/// A C++ file that takes about a second to compile (a constexpr loop)
/// and prints `value`.
fn slow_main(value: &str) -> String {
    format!(
        "#include <cstdio>\n\
         constexpr unsigned long spin(unsigned long n) {{\n\
           unsigned long x = 0;\n\
           for (unsigned long i = 0; i < n; ++i) x = x * 31 + (i ^ (x >> 7));\n\
           return x;\n\
         }}\n\
         constexpr unsigned long SPIN = spin(400000);\n\
         int main() {{ std::printf(\"{value} %lu\\n\", SPIN & 1); }}\n"
    )
}

/// Live `cc1plus` processes compiling `source`, with their CPU time so
/// far (user + system, in clock ticks).
fn compilers_of(source: &Path) -> Vec<(u32, u64)> {
    let needle = source.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd);
            if !cmd.contains("cc1plus") || !cmd.contains(&needle) {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            // utime and stime: fields 14 and 15 of stat(5), here 11 and 12.
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some((pid, ticks))
        })
        .collect()
}

#[test]
fn a_file_saved_while_its_compile_runs_is_compiled_again() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let limits =
        "build_flags = -fconstexpr-loop-limit=100000000 -fconstexpr-ops-limit=2000000000\n";
    native(dir, limits, &[("src/main.cpp", &slow_main("one"))]);
    let first = build(&home, dir, &[]);
    assert_ok(&first);
    assert!(program(dir).starts_with("one "), "{}", program(dir));

    let main = dir.join("src/main.cpp");
    std::fs::write(&main, slow_main("two")).unwrap();
    let running = build_cmd(&home, dir, &[])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The compiler has read the file (it has been computing for 0.2 s of
    // CPU), and goes on: the file is saved again now.
    assert!(
        wait_for(Duration::from_secs(60), || compilers_of(&main)
            .iter()
            .any(|(_, ticks)| *ticks >= 20)),
        "no compiler of {} seen at work",
        main.display()
    );
    let (pid, _) = compilers_of(&main)[0];
    std::fs::write(&main, slow_main("three, saved during the compile")).unwrap();
    assert!(
        alive(pid),
        "the compile ended before the save: the test proves nothing"
    );
    let during = running.wait_with_output().unwrap();
    assert_ok(&during);
    assert!(program(dir).starts_with("two "), "{}", program(dir));

    // The next build sees the file as it is now.
    let next = build(&home, dir, &["-v"]);
    assert_ok(&next);
    assert_eq!(counts(&next), (1, 0), "{}", stderr(&next));
    assert!(
        stderr(&next).contains("src/main.cpp is out of date: src/main.cpp changed"),
        "{}",
        stderr(&next)
    );
    assert!(
        program(dir).starts_with("three, saved during the compile "),
        "{}",
        program(dir)
    );
    assert_eq!(counts(&build(&home, dir, &[])), (0, 1));
}

/// Six sources in name order; `broken` of them do not compile.
fn six_files(dir: &Path, broken: &[usize]) -> Vec<PathBuf> {
    let mut files = vec![(
        "src/main.c".to_string(),
        "int f1(void);\nint main(void) { return f1() - 1; }\n".to_string(),
    )];
    for i in 1..=5 {
        let body = if broken.contains(&i) {
            format!("int f{i}(void) {{ return undeclared_{i}; }}\n")
        } else {
            format!("int f{i}(void) {{ return {i}; }}\n")
        };
        files.push((format!("src/f{i}.c"), body));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    native(dir, "", &refs);
    files
        .iter()
        .map(|(p, _)| dir.join(".fbuild/build/native").join(format!("{p}.o")))
        .collect()
}

#[test]
fn the_first_failed_compile_starts_no_new_one_unless_keep_going() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Compiled one at a time, in name order: f1 … f5, then main.
    let objects = six_files(dir, &[2, 4]);
    let out = build(&home, dir, &["-j", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("undeclared_2"), "{err}");
    assert!(
        !err.contains("undeclared_4"),
        "a compile started after the failure:\n{err}"
    );
    assert!(
        err.contains("src/f2.c failed to compile; 4 of 6 compiles not started"),
        "{err}"
    );
    let made: Vec<bool> = objects.iter().map(|o| o.is_file()).collect();
    // main, f1 … f5
    assert_eq!(made, [false, true, false, false, false, false], "{err}");

    // -k: everything that compiles does; every failure is named; no link.
    let out = build(&home, dir, &["-j", "1", "-k"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("undeclared_2") && err.contains("undeclared_4"),
        "{err}"
    );
    assert!(
        err.contains("2 of 5 compiles failed: src/f2.c, src/f4.c"),
        "{err}"
    );
    let made: Vec<bool> = objects.iter().map(|o| o.is_file()).collect();
    assert_eq!(made, [true, true, false, true, false, true], "{err}");
    assert!(!dir.join(".fbuild/build/native/program").exists());

    // Fixed: only the two failed files compile, then the link.
    six_files(dir, &[]);
    let fixed = build(&home, dir, &["-j", "1"]);
    assert_ok(&fixed);
    assert_eq!(counts(&fixed), (2, 4));
}

#[test]
fn verbose_says_why_each_step_runs() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    native(
        dir,
        "build_flags = -DSCALE=2\n",
        &[
            ("src/config.h", "#define OFFSET 1\n"),
            (
                "src/main.c",
                "#include <stdio.h>\n#include \"config.h\"\nint twice(int);\nint main(void) { printf(\"%d\\n\", twice(20) + OFFSET); return 0; }\n",
            ),
            ("src/twice.c", "int twice(int x) { return x * SCALE; }\n"),
        ],
    );
    let first = build(&home, dir, &["-v"]);
    assert_ok(&first);
    assert!(
        stderr(&first).contains("fbuild: [native] every file is out of date: not built before"),
        "{}",
        stderr(&first)
    );
    assert_eq!(program(dir), "41\n");
    let why = |out: &Output| -> Vec<String> {
        stderr(out)
            .lines()
            .filter(|l| l.contains(" is out of date: "))
            .map(|l| l.trim_start_matches("fbuild: [native] ").to_string())
            .collect()
    };

    std::fs::write(dir.join("src/config.h"), "#define OFFSET 2\n").unwrap();
    let header = build(&home, dir, &["-v"]);
    assert_ok(&header);
    assert_eq!(
        why(&header),
        [
            "src/main.c is out of date: src/config.h changed",
            ".fbuild/build/native/program is out of date: .fbuild/build/native/src/main.c.o changed",
        ]
    );

    let ini = dir.join("platformio.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(&ini, text.replace("-DSCALE=2", "-DSCALE=3 -DEXTRA")).unwrap();
    let flags = build(&home, dir, &["-v"]);
    assert_ok(&flags);
    let lines = why(&flags);
    assert!(
        lines.contains(
            &"src/twice.c is out of date: the command changed: added -DSCALE=3 -DEXTRA; removed -DSCALE=2"
                .to_string()
        ),
        "{lines:?}"
    );
    assert_eq!(program(dir), "62\n");

    std::fs::remove_file(dir.join(".fbuild/build/native/src/twice.c.o")).unwrap();
    let missing = build(&home, dir, &["-v"]);
    assert_eq!(
        why(&missing)[0],
        "src/twice.c is out of date: the output is missing"
    );

    std::fs::remove_file(dir.join("src/config.h")).unwrap();
    let gone = build(&home, dir, &["-v"]);
    assert!(!gone.status.success());
    assert_eq!(
        why(&gone),
        ["src/main.c is out of date: src/config.h is gone"]
    );
}

#[test]
fn io_errors_name_their_path() {
    let home = TestHome::new();
    let cases: [(&str, bool); 3] = [
        // (a build output that is in the way, is it a folder)
        (".fbuild/build/native/fbuild-state.json", true),
        (".fbuild/build/native/compile_commands.json", true),
        (".fbuild/build/native/src", false),
    ];
    for (blocker, folder) in cases {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        native(dir, "", &[("src/main.c", "int main(void) { return 0; }\n")]);
        let path = dir.join(blocker);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if folder {
            std::fs::create_dir_all(path.join("in-the-way")).unwrap();
        } else {
            std::fs::write(&path, "in the way").unwrap();
        }
        let out = build(&home, dir, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{blocker}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("fbuild: error: ") && l.contains(&*path.to_string_lossy())),
            "{blocker}: the error does not name {}:\n{err}",
            path.display()
        );
    }
}

#[test]
fn libraries_link_in_any_mix_of_archives_and_objects() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // beta is linked object by object and calls into alpha, an archive.
    native(
        dir,
        "",
        &[
            (
                "src/main.c",
                "#include <alpha.h>\n#include <beta.h>\nint main(void) { return b(ALPHA) - 2; }\n",
            ),
            ("lib/alpha/src/alpha.h", "#define ALPHA 1\nint a(int);\n"),
            ("lib/alpha/src/alpha.c", "int a(int x) { return x + 1; }\n"),
            (
                "lib/beta/library.json",
                r#"{"name": "beta", "build": {"libArchive": "false"}}"#,
            ),
            ("lib/beta/src/beta.h", "int b(int);\n"),
            (
                "lib/beta/src/beta.c",
                "#include <alpha.h>\nint b(int x) { return a(x); }\n",
            ),
        ],
    );
    let out = build(&home, dir, &["-v"]);
    assert_ok(&out);
    let err = stderr(&out);
    let link = err
        .lines()
        .find(|l| l.contains("-o ") && l.contains("/program"))
        .unwrap();
    assert!(
        link.contains("lib/beta/beta.c.o") && link.contains("libalpha.a"),
        "{link}"
    );
    assert!(
        Command::new(dir.join(".fbuild/build/native/program"))
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_header_added_in_front_of_another_recompiles_its_users() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    native(
        dir,
        "",
        &[
            (
                "src/main.c",
                "#include <stdio.h>\n#include <foo.h>\n#include <cfg.h>\nint main(void) { printf(\"%d\\n\", CFG); return 0; }\n",
            ),
            ("lib/foo/src/foo.h", "#define FOO 1\n"),
            ("lib/foo/src/cfg.h", "#define CFG 1\n"),
        ],
    );
    assert_ok(&build(&home, dir, &[]));
    assert_eq!(program(dir), "1\n");
    for (path, value) in [("include/cfg.h", "2"), ("src/cfg.h", "3")] {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("#define CFG {value}\n")).unwrap();
        let out = build(&home, dir, &["-v"]);
        assert_ok(&out);
        assert_eq!(program(dir), format!("{value}\n"), "{}", stderr(&out));
    }
    // src/cfg.h came after include/ had one: the explanation says why.
    std::fs::remove_file(dir.join("src/cfg.h")).unwrap();
    assert_ok(&build(&home, dir, &[]));
    std::fs::write(dir.join("src/cfg.h"), "#define CFG 4\n").unwrap();
    let out = build(&home, dir, &["-v"]);
    assert!(
        stderr(&out).contains("src/main.c is out of date: a new cfg.h may be found before"),
        "{}",
        stderr(&out)
    );
    assert_eq!(program(dir), "4\n");
}

#[test]
fn a_compile_without_a_depfile_is_said_and_an_old_depfile_is_not_read() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    native(
        dir,
        "",
        &[
            ("src/h.h", "#define V 1\n"),
            (
                "src/main.c",
                "#include \"h.h\"\nint main(void) { return V - 1; }\n",
            ),
        ],
    );
    assert_ok(&build(&home, dir, &[]));
    let depfile = dir.join(".fbuild/build/native/src/main.c.d");
    assert!(depfile.is_file());
    native(dir, "build_flags = -MF/dev/null\n", &[]);
    let out = build(&home, dir, &[]);
    assert_ok(&out);
    assert!(!depfile.exists(), "the last compile's depfile was kept");
    assert!(
        stderr(&out).contains("1 compile(s) wrote no dependency file (src/main.c…)"),
        "{}",
        stderr(&out)
    );
}
