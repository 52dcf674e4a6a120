//! `lib_deps` from a registry, the Arduino index, git, archives and paths,
//! against a loopback server and a local bare git repository (see
//! `common::libfix`): builds, the lock file, the shared store, concurrency,
//! offline rebuilds and every bad input named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::libfix::Fixture;
use common::{TestHome, all_succeed_at_once, assert_ok, sha256};

const UNO_SKETCH: &str = "#include <Greeting.h>\n#include <Blinker.h>\n#include <Shapes.h>\n#include <LocalThing.h>\n#include <SoftwareSerial.h>\nSoftwareSerial soft(10, 11);\nvoid setup() {\n  Serial.begin(9600);\n  soft.begin(9600);\n  Serial.println(greeting() + blinker_rate() + shapes_sides(2) + local_thing());\n}\nvoid loop() {}\n";

const NATIVE_MAIN: &str = "#include <stdio.h>\n#include <Greeting.h>\n#include <Blinker.h>\n#include <Shapes.h>\nint main() {\n  printf(\"%d %d %d\\n\", greeting(), blinker_rate(), shapes_sides(2));\n  return 0;\n}\n";

/// A project in `<tmp>/proj` (with `<tmp>/shared/LocalThing` beside it).
fn project(tmp: &Path, env: &str, lib_deps: &[String]) -> PathBuf {
    let dir = tmp.join("proj");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let local = tmp.join("shared/LocalThing");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(
        local.join("LocalThing.h"),
        "#pragma once\nint local_thing(void);\n",
    )
    .unwrap();
    std::fs::write(
        local.join("LocalThing.cpp"),
        "#include \"LocalThing.h\"\nint local_thing(void) { return 5; }\n",
    )
    .unwrap();
    let head = match env {
        "uno" => "[env:uno]\nplatform = atmelavr\nboard = uno\nframework = arduino\n",
        _ => "[env:native]\nplatform = native\n",
    };
    let ini = format!("{head}lib_deps =\n    {}\n", lib_deps.join("\n    "));
    std::fs::write(dir.join("platformio.ini"), ini).unwrap();
    match env {
        "uno" => std::fs::write(dir.join("src/main.ino"), UNO_SKETCH).unwrap(),
        _ => std::fs::write(dir.join("src/main.cpp"), NATIVE_MAIN).unwrap(),
    }
    dir
}

fn deps(f: &Fixture) -> Vec<String> {
    vec![
        "acme/Greeting @ ^1.0.0".into(),
        format!("Blinker={}#v1.0.0", f.git_url()),
        f.url("dl/Shapes-0.3.0.zip"),
    ]
}

fn build(home: &TestHome, f: &Fixture, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["build", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    home.fbuild(&all)
        .env("FBUILD_ZCCACHE", "off")
        .envs(f.env())
        .output()
        .unwrap()
}

fn lock(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("fbuild.lock")).unwrap()).unwrap()
}

fn locked_lib<'a>(lock: &'a serde_json::Value, env: &str, name: &str) -> &'a serde_json::Value {
    lock["environments"][env]["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the lock: {lock:#}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn store_entries(home: &TestHome) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(home.path().join("libraries"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn registry_git_archive_and_path_deps_build_for_uno_and_are_locked() {
    let f = Fixture::new();
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut all = deps(&f);
    all.push("../shared/LocalThing".into());
    all.push("arduino/SoftwareSerial @ ^1.0.0".into());
    let dir = project(tmp.path(), "uno", &all);
    let out = build(&home, &f, &dir, &[]);
    assert_ok(&out);
    assert!(dir.join(".fbuild/build/uno/firmware.hex").is_file());

    let lock = lock(&dir);
    let libs = lock["environments"]["uno"]["libraries"].as_array().unwrap();
    assert_eq!(libs.len(), 6, "{lock:#}");
    let greeting = locked_lib(&lock, "uno", "Greeting");
    assert_eq!(greeting["version"], "1.1.0");
    assert_eq!(greeting["source"], "registry");
    let tarball = f.root.path().join("dl/greeting-1.1.0.tar.gz");
    assert_eq!(greeting["sha256"], sha256(&tarball).as_str());
    // The shared transitive dependency: one version (the newest both
    // ranges, ^1.0.0 and >=1.1.0, accept), required by both.
    let counter = locked_lib(&lock, "uno", "Counter");
    assert_eq!(counter["version"], "1.2.0");
    assert_eq!(counter["source"], "arduino-index");
    let by: Vec<&str> = counter["required_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(by, ["Greeting@1.1.0", "Blinker@1.0.0"]);
    let blinker = locked_lib(&lock, "uno", "Blinker");
    assert_eq!(
        (blinker["source"].as_str(), blinker["reference"].as_str()),
        (Some("git"), Some("v1.0.0"))
    );
    assert_eq!(blinker["commit"].as_str().unwrap().len(), 40);
    assert_eq!(locked_lib(&lock, "uno", "Shapes")["version"], "0.3.0");
    assert_eq!(locked_lib(&lock, "uno", "LocalThing")["source"], "path");

    // The library's sources were compiled from the store, with its flags;
    // the core's own SoftwareSerial gave way to the lib_deps one.
    let compdb =
        std::fs::read_to_string(dir.join(".fbuild/build/uno/compile_commands.json")).unwrap();
    let store = home.path().join("libraries");
    assert!(
        compdb.contains(&format!("{}/SoftwareSerial-1.0.0-", store.display())),
        "{compdb}"
    );
    assert!(!compdb.contains("avr/libraries/SoftwareSerial"));
    assert!(compdb.contains("-DGREETING_LOUD=3"));
    assert!(
        dir.join(".fbuild/build/uno/lib/Counter/Counter.c.o")
            .is_file()
    );
    let stored = store_entries(&home);
    assert_eq!(
        stored.iter().filter(|s| s.starts_with("Counter-")).count(),
        1,
        "{stored:?}"
    );

    // A second project: the store and the coordinator's index answers are
    // reused, nothing is downloaded again.
    let gets = f.server.total_gets();
    let tmp2 = tempfile::tempdir().unwrap();
    let dir2 = project(tmp2.path(), "uno", &all);
    assert_ok(&build(&home, &f, &dir2, &[]));
    assert_eq!(
        f.server.total_gets(),
        gets,
        "the second project fetched something"
    );

    let list = home
        .fbuild(&["lib", "list", dir.to_str().unwrap()])
        .envs(f.env())
        .env("FBUILD_ZCCACHE", "off")
        .output()
        .unwrap();
    assert_ok(&list);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("[env:uno]"), "{text}");
    assert!(
        text.contains("  Greeting 1.1.0  [registry acme/Greeting]"),
        "{text}"
    );
    assert!(text.contains("    Counter 1.2.0  [arduino-index"), "{text}");
}

#[test]
fn eight_concurrent_builds_download_each_library_once() {
    let f = Fixture::new();
    let home = TestHome::new();
    home.start();
    let tmps: Vec<tempfile::TempDir> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    let dirs: Vec<PathBuf> = tmps
        .iter()
        .map(|t| project(t.path(), "native", &deps(&f)))
        .collect();
    all_succeed_at_once(dirs.iter().map(|d| {
        let mut cmd = home.fbuild(&["build", d.to_str().unwrap()]);
        cmd.env("FBUILD_ZCCACHE", "off").envs(f.env());
        cmd
    }));
    for path in [
        "/dl/greeting-1.1.0.tar.gz",
        "/arduino/Counter-1.2.0.zip",
        "/dl/Shapes-0.3.0.zip",
        "/arduino/library_index.json",
        "/v3/packages/acme/library/greeting",
    ] {
        assert_eq!(f.server.gets(path), 1, "{path}");
    }
    let stored = store_entries(&home);
    assert_eq!(
        stored.len(),
        4,
        "one folder per library, nothing staged: {stored:?}"
    );
    for d in &dirs {
        let run = std::process::Command::new(d.join(".fbuild/build/native/program"))
            .output()
            .unwrap();
        // greeting: counter 1 + 3; blinker v1: 1 * version 12; shapes: 8.
        assert_eq!(String::from_utf8_lossy(&run.stdout), "4 12 8\n");
    }
}

#[test]
fn a_rebuild_from_lock_and_store_needs_no_network() {
    let f = Fixture::new();
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path(), "native", &deps(&f));
    let gz = f.url("arduino/library_index.json.gz");
    let out = home
        .fbuild(&["build", dir.to_str().unwrap()])
        .env("FBUILD_ZCCACHE", "off")
        .envs(f.env())
        .env("FBUILD_LIBRARY_INDEX", &gz)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(f.server.gets("/arduino/library_index.json.gz"), 1);
    assert_ok(&home.run(&["daemon", "stop"]));
    let gets = f.server.total_gets();
    // Indexes unreachable, a fresh coordinator, a clean build: the lock
    // and the store are enough.
    let out = home
        .fbuild(&["build", dir.to_str().unwrap(), "--clean", "--locked"])
        .env("FBUILD_ZCCACHE", "off")
        .env("FBUILD_REGISTRY_URL", "http://127.0.0.1:9")
        .env(
            "FBUILD_LIBRARY_INDEX",
            "http://127.0.0.1:9/library_index.json",
        )
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(f.server.total_gets(), gets);
    assert!(dir.join(".fbuild/build/native/program").is_file());
}

#[test]
fn drift_unknown_names_conflicts_and_bad_sources_are_named() {
    let f = Fixture::new();
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path(), "native", &deps(&f));
    assert_ok(&build(&home, &f, &dir, &[]));
    let good_lock = std::fs::read_to_string(dir.join("fbuild.lock")).unwrap();

    // --locked with lib_deps changed since the lock: the entry is named.
    let ini = std::fs::read_to_string(dir.join("platformio.ini")).unwrap();
    std::fs::write(
        dir.join("platformio.ini"),
        ini.replace("@ ^1.0.0", "@ 1.0.0"),
    )
    .unwrap();
    let out = build(&home, &f, &dir, &["--locked"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("\"acme/Greeting @ 1.0.0\"") && err.contains("fbuild lib update"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("fbuild.lock")).unwrap(),
        good_lock
    );
    // `fbuild lib update` re-resolves: the lock follows, --locked passes.
    let update = home
        .fbuild(&["lib", "update", dir.to_str().unwrap()])
        .envs(f.env())
        .output()
        .unwrap();
    assert_ok(&update);
    assert_eq!(
        locked_lib(&lock(&dir), "native", "Greeting")["version"],
        "1.0.0"
    );
    // Another version is another source folder (and include dir): what
    // uses it rebuilds; the up-to-date check sees the new command.
    let rebuilt = build(&home, &f, &dir, &["--locked"]);
    assert_ok(&rebuilt);
    let said = common::said(&rebuilt);
    assert!(
        said.contains("compiling lib/Greeting/Greeting.cpp"),
        "{said}"
    );
    assert!(!said.contains("(0 compiled"), "{said}");
    std::fs::write(dir.join("platformio.ini"), &ini).unwrap();
    assert_ok(
        &home
            .fbuild(&["lib", "update", dir.to_str().unwrap()])
            .envs(f.env())
            .output()
            .unwrap(),
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("fbuild.lock")).unwrap(),
        good_lock
    );

    let fails = |deps: &[String]| {
        let t = tempfile::tempdir().unwrap();
        let d = project(t.path(), "native", deps);
        let out = build(&home, &f, &d, &[]);
        assert!(!out.status.success(), "{deps:?} built");
        assert!(!d.join("fbuild.lock").exists());
        stderr(&out)
    };
    let err = fails(&["Countr @ ^1.0.0".into()]);
    assert!(
        err.contains("no library \"Countr\"") && err.contains("did you mean Counter"),
        "{err}"
    );

    let err = fails(&["Counter @ 2.0.0".into(), "acme/Greeting".into()]);
    assert!(
        err.contains("Counter @ 2.0.0 requires Counter 2.0.0"),
        "{err}"
    );
    assert!(
        err.contains("Greeting@1.1.0 requires Counter ^1.0.0"),
        "{err}"
    );

    let err = fails(&[f.url("dl/Evil-1.0.zip")]);
    assert!(err.contains("'..'"), "{err}");
    assert!(
        !store_entries(&home).iter().any(|e| e.starts_with("Evil")),
        "{:?}",
        store_entries(&home)
    );

    let err = fails(&[format!("{}#v9.9.9", f.git_url())]);
    assert!(
        err.contains("v9.9.9") && err.contains("tags: v1.0.0, v2.0.0"),
        "{err}"
    );

    // A lock pinning another sha256 than the archive has: refused, and
    // nothing lands in a fresh store.
    let shapes_sha = sha256(&f.root.path().join("dl/Shapes-0.3.0.zip"));
    std::fs::write(
        dir.join("fbuild.lock"),
        good_lock.replace(&shapes_sha, &"0".repeat(64)),
    )
    .unwrap();
    let fresh = TestHome::new();
    let out = build(&fresh, &f, &dir, &["--locked"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("checksum mismatch") && err.contains("Shapes-0.3.0.zip"),
        "{err}"
    );
    assert!(
        !store_entries(&fresh)
            .iter()
            .any(|e| e.starts_with("Shapes")),
        "{:?}",
        store_entries(&fresh)
    );
}

#[test]
fn ldf_modes_ignore_and_extra_dirs() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // `Extra` lives in lib_extra_dirs; `Unused` in lib/ is never included;
    // `Chained` is reached only through Extra's header.
    write(
        "src/main.c",
        "#include <stdio.h>\n#include <Extra.h>\nint main(void) { printf(\"%d\\n\", extra()); return 0; }\n",
    );
    write(
        "more/Extra/Extra.h",
        "#include <Chained.h>\nint extra(void);\n",
    );
    write(
        "more/Extra/Extra.c",
        "#include \"Extra.h\"\nint extra(void) { return chained() + 1; }\n",
    );
    write("lib/Chained/src/Chained.h", "int chained(void);\n");
    write(
        "lib/Chained/src/Chained.c",
        "int chained(void) { return 41; }\n",
    );
    write("lib/Unused/Unused.c", "#error never compiled\n");
    let ini = |extra: &str| {
        write(
            "platformio.ini",
            &format!("[env:native]\nplatform = native\nlib_extra_dirs = more\n{extra}"),
        )
    };
    let build = |args: &[&str]| home.build_uncached(&dir, args);
    for mode in ["chain", "deep"] {
        ini(&format!("lib_ldf_mode = {mode}\n"));
        assert_ok(&build(&["--clean"]));
        let run = std::process::Command::new(dir.join(".fbuild/build/native/program"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), "42\n", "{mode}");
        assert!(!dir.join("fbuild.lock").exists(), "no lib_deps, no lock");
    }
    ini("lib_ignore = Chained\n");
    let out = build(&["--clean"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Chained.h"), "{}", stderr(&out));
    ini("lib_ldf_mode = off\n");
    assert!(
        !build(&["--clean"]).status.success(),
        "off: Extra is not built"
    );
    ini("lib_ldf_mode = sideways\n");
    let out = build(&[]);
    assert!(
        stderr(&out).contains("lib_ldf_mode = \"sideways\"")
            && stderr(&out).contains("use off, chain, chain+, deep, deep+"),
        "{}",
        stderr(&out)
    );
}
