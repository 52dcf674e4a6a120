//! The sources phase remembered (`builder/src/sources_memo.rs`): a no-op
//! build takes what the last one found without walking the libraries
//! again, and anything the walk read or listed that changed makes the
//! build walk again — a source added to a library is compiled, a header
//! added where the finder looked is found, a library's manifest edited is
//! read; warnings of the walk are said at every build. (The randomized
//! `build_property` test runs hundreds of such edits against builds from
//! scratch.)

mod common;

use std::path::Path;

use common::*;

/// Every stamp under `dir` (its build folder aside) of the last three
/// seconds set ten seconds back: a walk that sees a stamp of the last two
/// seconds is not remembered (a second write in the same tick could hide),
/// and the test waits for no clock. Older stamps are left alone (a memo
/// recorded them).
fn settle(dir: &Path) {
    let now = std::time::SystemTime::now();
    let old = now - std::time::Duration::from_secs(10);
    let recent = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > now - std::time::Duration::from_secs(3))
    };
    let set = |p: &Path| {
        if recent(p) {
            let f = std::fs::File::options()
                .append(!p.is_dir())
                .read(p.is_dir())
                .open(p)
                .unwrap();
            f.set_modified(old).unwrap();
        }
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_name() == ".fbuild" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                set(&e.path());
            }
        }
        set(&d);
    }
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A build with `-v` of the settled tree: its stderr, checked to succeed.
fn build(home: &TestHome, dir: &Path) -> String {
    settle(dir);
    let out = home.build(dir, &["-v"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    said
}

fn remembered(said: &str) -> bool {
    said.contains("sources (remembered)")
}

fn run(dir: &Path) -> String {
    let out = std::process::Command::new(dir.join(".fbuild/build/native/program"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_no_op_remembers_its_sources_and_any_change_the_walk_saw_walks_again() {
    let home = TestHome::new();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    write(
        dir,
        "platformio.ini",
        "[env:native]\nplatform = native\nlib_deps = Other\n",
    );
    write(
        dir,
        "src/main.cpp",
        "#include <stdio.h>\n#include <A.h>\nint main() { printf(\"%d\\n\", a()); return 0; }\n",
    );
    // `impl.cpp` is compiled but not read by the walk (chain mode reads
    // the sources named like an included header: `A.cpp` would be).
    write(dir, "lib/A/src/A.h", "int a();\n");
    write(
        dir,
        "lib/A/src/impl.cpp",
        "#include \"A.h\"\nint a() { return 1; }\n",
    );
    // A library for another platform: a warning at every build.
    write(
        dir,
        "lib/Other/library.json",
        r#"{"name": "Other", "platforms": ["espressif32"]}"#,
    );
    write(dir, "lib/Other/src/Other.h", "");

    let first = build(&home, dir);
    assert!(!remembered(&first), "{first}");
    assert!(first.contains("Other is not for this build"), "{first}");
    assert_eq!(run(dir), "1\n");
    let again = build(&home, dir);
    assert!(remembered(&again), "{again}");
    assert!(
        again.contains("Other is not for this build"),
        "the warning: {again}"
    );
    // A source edited (not read by the walk): still remembered, compiled.
    write(
        dir,
        "lib/A/src/impl.cpp",
        "#include \"A.h\"\nint a() { return 2; }\n",
    );
    let edited = build(&home, dir);
    assert!(remembered(&edited), "{edited}");
    assert_eq!(run(dir), "2\n");

    // A source added to the library: listed again, compiled, linked.
    write(dir, "lib/A/src/A.h", "int a();\nint b();\n");
    write(dir, "lib/A/src/B.cpp", "int b() { return 40; }\n");
    write(
        dir,
        "lib/A/src/impl.cpp",
        "#include \"A.h\"\nint a() { return b() + 2; }\n",
    );
    let added = build(&home, dir);
    assert!(!remembered(&added), "{added}");
    assert_eq!(run(dir), "42\n");

    // A header the project now includes, in a library that appears.
    write(dir, "lib/C/src/C.h", "#define C_VALUE 7\n");
    write(
        dir,
        "src/main.cpp",
        "#include <stdio.h>\n#include <C.h>\nint main() { printf(\"%d\\n\", C_VALUE); return 0; }\n",
    );
    let found = build(&home, dir);
    assert!(!remembered(&found), "{found}");
    assert_eq!(run(dir), "7\n");
    assert!(remembered(&build(&home, dir)));

    // The library's manifest edited: read again (its flags now apply).
    write(
        dir,
        "lib/C/library.json",
        r#"{"name": "C", "build": {"flags": ["-DC_EXTRA=1"]}}"#,
    );
    write(
        dir,
        "lib/C/src/C.cpp",
        "#ifndef C_EXTRA\n#error no flags\n#endif\n",
    );
    let manifest = build(&home, dir);
    assert!(!remembered(&manifest), "{manifest}");
    // The memo removed: walked again.
    std::fs::remove_file(dir.join(".fbuild/build/native/fbuild-sources.json")).unwrap();
    assert!(!remembered(&build(&home, dir)));
    assert!(remembered(&build(&home, dir)));

    // A file written within the last two seconds: not remembered yet.
    std::fs::write(dir.join("lib/C/src/C.h"), "#define C_VALUE 8\n").unwrap();
    let racy = home.build(dir, &["-v"]);
    assert!(racy.status.success());
    let again = home.build(dir, &["-v"]);
    assert!(
        !remembered(&String::from_utf8_lossy(&again.stderr)),
        "a racy stamp was trusted"
    );
}
