//! `fbuild ci` (PlatformIO's `pio ci`): example folders × boards, each a
//! build in a kept project per board and slot, so the examples after the
//! first compile their own sources alone; a table on stdout, JUnit XML
//! (read back with Python's parser), exit 1 when one failed; without
//! `--keep-going`, the builds after a failure are skipped.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A library of five sources with examples `A`, `B` (good) and `Bad`.
fn library() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "library.properties",
        "name=Sweep\nversion=1.0.0\narchitectures=*\n",
    );
    write(
        d,
        "src/Sweep.h",
        "#pragma once\n#ifdef __cplusplus\nextern \"C\"\n#endif\nint sweep(void);\n",
    );
    let mut body = String::from("#include \"Sweep.h\"\n");
    for i in 0..4 {
        write(
            d,
            &format!("src/part{i}.c"),
            &format!("int part{i}(void) {{ return {i}; }}\n"),
        );
        body.push_str(&format!("int part{i}(void);\n"));
    }
    body.push_str("int sweep(void) { return part1() + part2() + part3(); }\n");
    write(d, "src/Sweep.c", &body);
    for (name, value) in [("A", 1), ("B", 2)] {
        write(
            d,
            &format!("examples/{name}/main.c"),
            &format!(
                "#include <Sweep.h>\nint main(void) {{ return sweep() - 6 + {value} - {value}; }}\n"
            ),
        );
    }
    write(
        d,
        "examples/Bad/main.c",
        "#include <Sweep.h>\nint main(void) { return nope(); }\n",
    );
    dir
}

fn ci(home: &TestHome, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["ci"];
    all.extend_from_slice(args);
    home.fbuild(&all)
        .current_dir(dir)
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .output()
        .unwrap()
}

/// The table's rows: (example, result, compiled).
fn rows(out: &Output) -> Vec<(String, String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("examples/"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0].to_string(), w[2].to_string(), w[3].to_string())
        })
        .collect()
}

#[test]
fn examples_after_the_first_compile_alone_and_failures_are_reported() {
    let home = TestHome::new();
    let lib = library();
    let d = lib.path();
    let junit = d.join("results.xml");
    let out = ci(
        &home,
        d,
        &[
            "examples/A",
            "examples/B",
            "examples/Bad",
            "--lib",
            ".",
            "-b",
            "native",
            "-k",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let table = rows(&out);
    let results: Vec<&str> = table.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(results, ["SUCCESS", "SUCCESS", "FAILED"], "{table:?}");
    assert!(said.contains("nope"), "the failure's output: {said}");
    // B compiled its own source alone: the library's objects were kept.
    assert_eq!(table[1].2, "1", "{table:?}");
    let parsed = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as E\n\
             r = E.parse(sys.argv[1]).getroot()\n\
             s = r.find('testsuite')\n\
             print(s.get('tests'), s.get('failures'), [c.get('name') for c in s.iter('testcase') if c.find('failure') is not None])",
        )
        .arg(&junit)
        .output()
        .unwrap();
    assert_ok(&parsed);
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "3 1 ['examples/Bad']"
    );

    // Without --keep-going: the builds after a failure are skipped.
    let out = ci(
        &home,
        d,
        &["examples/Bad", "examples/A", "--lib", ".", "-b", "native"],
    );
    assert_eq!(out.status.code(), Some(1));
    let results: Vec<String> = rows(&out).into_iter().map(|r| r.1).collect();
    assert_eq!(results, ["FAILED", "SKIPPED"]);

    // Two builds at a time, each in its own project: all built.
    let out = ci(
        &home,
        d,
        &[
            "examples/A",
            "examples/B",
            "--lib",
            ".",
            "-b",
            "native",
            "-j",
            "2",
        ],
    );
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 succeeded, 0 failed"));
}

/// Names the ini would misread, a single file beside a broken one, and
/// `-O lib_deps` beside `--lib`: all built as asked.
#[test]
fn odd_names_single_files_and_more_lib_deps_build_as_asked() {
    let home = TestHome::new();
    let lib = library();
    let d = lib.path();
    write(
        d,
        "examples/Semi ;colon ${x}/main.c",
        "#include <Sweep.h>\n#include <Extra.h>\nint main(void) { return sweep() - 6 + EXTRA; }\n",
    );
    write(
        d,
        "examples/Single/one.c",
        "#include <Sweep.h>\nint main(void) { return sweep() - 6; }\n",
    );
    write(d, "examples/Single/broken.c", "this is not C\n");
    let extra = tempfile::tempdir().unwrap();
    write(
        extra.path(),
        "library.properties",
        "name=Extra\nversion=1.0.0\n",
    );
    write(extra.path(), "src/Extra.h", "#define EXTRA 0\n");
    let deps = format!("lib_deps=symlink://{}", extra.path().display());
    let out = ci(
        &home,
        d,
        &[
            "examples/Semi ;colon ${x}",
            "examples/Single/one.c",
            "--lib",
            ".",
            "-b",
            "native",
            "-O",
            &deps,
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_ok(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("2 succeeded, 0 failed"), "{table}\n{said}");
}

#[test]
fn a_bad_option_or_a_missing_example_is_named() {
    let home = TestHome::new();
    let lib = library();
    let out = ci(&home, lib.path(), &["examples/Nope", "-b", "native"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("examples/Nope"));
    let out = ci(
        &home,
        lib.path(),
        &["examples/A", "-b", "native", "-O", "build_flags"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key=value"));
    // A board whose platform fbuild cannot name: said how to give it.
    let out = ci(
        &home,
        lib.path(),
        &["examples/A", "-b", "arduino:samd:arduino_zero_edbg"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-O platform="));
}

/// A real board: the core and the library compiled once for both
/// examples, flash and RAM in the table.
#[test]
fn uno_examples_share_the_core_and_the_library() {
    let home = TestHome::new();
    let lib = library();
    let d = lib.path();
    for name in ["A", "B"] {
        std::fs::remove_file(d.join(format!("examples/{name}/main.c"))).unwrap();
        write(
            d,
            &format!("examples/{name}/{name}.ino"),
            "#include <Sweep.h>\nvoid setup() { Serial.begin(9600); Serial.println(sweep()); }\nvoid loop() {}\n",
        );
    }
    let out = ci(
        &home,
        d,
        &["examples/A", "examples/B", "--lib", ".", "-b", "uno"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_ok(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.starts_with(&format!("examples/{name} ")))
            .unwrap_or_else(|| panic!("{table}\n{said}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (row("A"), row("B"));
    assert!(
        a[3].parse::<u64>().unwrap() > 20,
        "A compiled the core: {table}"
    );
    assert_eq!(b[3], "1", "B compiled its sketch alone: {table}");
    let flash: u64 = b[4].parse().unwrap();
    let ram: u64 = b[5].parse().unwrap();
    assert!((1_000..32_256).contains(&flash), "{table}");
    assert!((100..2_048).contains(&ram), "{table}");
}
