//! The library store (`builder/src/lib_store.rs`, `FBUILD_HOME/builds/libs/`):
//! a core or library built once is the archive every project that builds
//! it the same way links — projects at other paths, a project moved, eight
//! builds at once (one of them builds it, the others wait and take it) —
//! and a library that reads the project's own header is never shared.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `-v` line of the library store: (served, kept) names.
fn store_line(out: &Output) -> (Vec<String>, Vec<String>) {
    let err = stderr(out);
    let line = err
        .lines()
        .find(|l| l.contains("library store: "))
        .unwrap_or_else(|| panic!("no library store line:\n{err}"))
        .to_string();
    let names = |after: &str| -> Vec<String> {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        let inside = &rest[rest.find('(').unwrap() + 1..rest.find(')').unwrap()];
        match inside {
            "none" => Vec::new(),
            list => list.split(", ").map(str::to_string).collect(),
        }
    };
    (names(" served "), names(" kept "))
}

/// "(N compiled, M up to date)".
fn compiled(out: &Output) -> usize {
    let err = said(out);
    err.lines()
        .find_map(|l| {
            let at = l.find(" compiled, ")?;
            l[..at].rsplit('(').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no summary:\n{err}"))
}

fn hex(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(".fbuild/build/uno/firmware.hex")).unwrap()
}

fn entries(home: &TestHome) -> u64 {
    let out = home.run(&["cache", "stats", "--json"]);
    assert_ok(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["library_store"]["entries"].as_u64().unwrap()
}

#[test]
fn a_core_and_library_built_once_serve_a_project_elsewhere_and_a_moved_one() {
    let home = TestHome::new();
    let (a, b) = (example("wire-lib"), example("wire-lib"));
    let first = home.build(a.path(), &["-v"]);
    assert_ok(&first);
    assert_eq!(
        store_line(&first),
        (vec![], vec!["Wire".to_string(), "core".to_string()])
    );
    assert_eq!(entries(&home), 2);

    // Another project at another path: the core and Wire are the store's;
    // only the sketch and its own library (lib/Blinker) compile.
    let second = home.build(b.path(), &["-v"]);
    assert_ok(&second);
    assert_eq!(
        store_line(&second),
        (vec!["Wire".to_string(), "core".to_string()], vec![])
    );
    assert_eq!(compiled(&second), 2, "{}", stderr(&second));
    assert_eq!(entries(&home), 2, "no second entry");
    assert!(
        !b.path().join(".fbuild/build/uno/core/wiring.c.o").exists(),
        "the core was compiled in the second project"
    );
    // The same firmware as a build without any cache or store.
    let served = hex(b.path());
    let plain = home
        .fbuild(&["build", b.path().to_str().unwrap(), "--clean"])
        .env("FBUILD_CACHE", "none")
        .output()
        .unwrap();
    assert_ok(&plain);
    assert!(plain.status.success());
    assert!(served == hex(b.path()), "the store's firmware differs");

    // The first project moved: its core and Wire still come from the store.
    let moved = tempfile::tempdir().unwrap();
    let to = moved.path().join("elsewhere");
    std::fs::rename(a.path(), &to).unwrap();
    let after = home.build(&to, &["-v"]);
    assert_ok(&after);
    assert_eq!(
        store_line(&after).0,
        vec!["Wire".to_string(), "core".to_string()]
    );
    assert_eq!(compiled(&after), 2, "{}", stderr(&after));
    assert!(hex(&to) == served);
}

/// Writes each (path under `root`, text).
fn write_all(root: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A native project using `<shared>/Cfg` (through `lib_extra_dirs`),
/// whose source includes the project's `include/config.h`, and
/// `<shared>/Plain`, which reads nothing of the project's (its value from
/// the header-only `<shared>/Vals`).
fn config_project(root: &Path, shared: &Path, value: u32) {
    let ini = format!(
        "[env:native]\nplatform = native\nlib_extra_dirs = {}\n",
        shared.display()
    );
    let main = "#include <stdio.h>\n#include \"cfg_lib.h\"\n#include \"plain.h\"\n\
        int main(void) { printf(\"%d %d\\n\", cfg_value(), plain_value()); return 0; }\n";
    write_all(
        root,
        &[
            ("platformio.ini", ini),
            ("include/config.h", format!("#define CFG_VALUE {value}\n")),
            ("src/main.c", main.into()),
        ],
    );
}

fn shared_libraries(shared: &Path) {
    let cfg = "#include \"config.h\"\n#include \"cfg_lib.h\"\n\
        int cfg_value(void) { return CFG_VALUE; }\n";
    write_all(
        shared,
        &[
            ("Cfg/src/cfg_lib.h", "int cfg_value(void);\n".into()),
            ("Cfg/src/cfg_lib.c", cfg.into()),
            ("Plain/src/plain.h", "int plain_value(void);\n".into()),
            (
                "Plain/src/plain.c",
                "#include \"plain.h\"\n#include \"plain_val.h\"\n\
                 int plain_value(void) { return PLAIN_VALUE; }\n"
                    .into(),
            ),
            ("Vals/src/plain_val.h", "#define PLAIN_VALUE 7\n".into()),
        ],
    );
}

fn run_program(dir: &Path) -> String {
    let exe = ["program", "program.exe", "firmware", "firmware.elf"]
        .iter()
        .map(|n| dir.join(".fbuild/build/native").join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no program under {}", dir.display()));
    let out = std::process::Command::new(exe).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_library_that_reads_the_projects_config_is_never_shared() {
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    shared_libraries(&shared);
    let (p, q) = (tmp.path().join("p"), tmp.path().join("q"));
    config_project(&p, &shared, 100);
    config_project(&q, &shared, 200);

    let first = home.build(&p, &["-v"]);
    assert_ok(&first);
    // Plain is kept; Cfg read p's include/config.h: p's own.
    assert_eq!(store_line(&first).1, vec!["Plain".to_string()]);
    assert_eq!(run_program(&p), "100 7");

    let second = home.build(&q, &["-v"]);
    assert_ok(&second);
    assert_eq!(store_line(&second), (vec!["Plain".to_string()], vec![]));
    assert_eq!(run_program(&q), "200 7", "{}", stderr(&second));

    // An edit of q's config rebuilds Cfg for q alone.
    std::fs::write(q.join("include/config.h"), "#define CFG_VALUE 300\n").unwrap();
    assert_ok(&home.build(&q, &[]));
    assert_eq!(run_program(&q), "300 7");
    assert_ok(&home.build(&p, &[]));
    assert_eq!(run_program(&p), "100 7");

    // A header added where Plain's include looks first (beside its
    // source): the stored Plain was compiled with the other one, so it is
    // not served; each project builds it anew, then it is served again.
    std::fs::write(
        shared.join("Plain/src/plain_val.h"),
        "#define PLAIN_VALUE 8\n",
    )
    .unwrap();
    let shadowed = home.build(&q, &["-v"]);
    assert_ok(&shadowed);
    assert_eq!(store_line(&shadowed), (vec![], vec!["Plain".to_string()]));
    assert_eq!(run_program(&q), "300 8");
    let served = home.build(&p, &["-v"]);
    assert_eq!(store_line(&served).0, vec!["Plain".to_string()]);
    assert_eq!(run_program(&p), "100 8");
}

#[test]
fn eight_builds_at_once_build_the_core_once() {
    let home = TestHome::new();
    let projects: Vec<_> = (0..8).map(|_| example("blink")).collect();
    // Each compile is shown (-v) and none is cached: the core's wiring.c
    // compiled once among all of them.
    let children: Vec<_> = projects
        .iter()
        .map(|p| {
            home.fbuild(&["build", p.path().to_str().unwrap(), "-v", "-j", "1"])
                .env("FBUILD_ZCCACHE", "off")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut kept = 0;
    let mut wiring = 0;
    for out in &outs {
        assert_ok(out);
        let (served, k) = store_line(out);
        assert!(
            served == vec!["core".to_string()] || k == vec!["core".to_string()],
            "{}",
            stderr(out)
        );
        kept += k.len();
        wiring += stderr(out)
            .lines()
            .filter(|l| l.contains("avr-gcc") && l.contains("cores/arduino/wiring.c "))
            .count();
    }
    assert_eq!(kept, 1, "the core kept more than once");
    assert_eq!(wiring, 1, "the core compiled more than once");
    let first = hex(projects[0].path());
    assert!(projects.iter().all(|p| hex(p.path()) == first));
}

/// A compiler upgraded in place (same path, another binary): every object
/// it made is out of date — the project's own and a stored library's —
/// though every command reads the same. (The host's `cc` through a
/// wrapper first on PATH, "upgraded" to define UPGRADED.)
#[cfg(unix)]
#[test]
fn a_compiler_upgraded_in_place_rebuilds_its_objects() {
    use std::os::unix::fs::PermissionsExt;
    let home = TestHome::new();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["ar", "c++", "size", "objcopy", "nm", "ranlib"] {
        if let Ok(real) = which_tool(tool) {
            std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
        }
    }
    let cc = bin.join("cc");
    let install = |extra: &str| {
        // Another file at the same path, as a package upgrade leaves it.
        let tmp_cc = bin.join("cc.new");
        std::fs::write(&tmp_cc, format!("#!/bin/sh\nexec gcc {extra} \"$@\"\n")).unwrap();
        std::fs::set_permissions(&tmp_cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp_cc, &cc).unwrap();
    };
    install("");
    let shared = tmp.path().join("shared");
    let p = tmp.path().join("p");
    let val = "#ifndef UPGRADED\n#define UPGRADED 0\n#endif\n";
    write_all(
        &shared,
        &[
            ("Val/src/val.h", "int val(void);\n".into()),
            (
                "Val/src/val.c",
                format!("{val}int val(void) {{ return UPGRADED; }}\n"),
            ),
        ],
    );
    let main = format!(
        "#include <stdio.h>\n#include \"val.h\"\n{val}\
         int main(void) {{ printf(\"%d %d\\n\", UPGRADED, val()); return 0; }}\n"
    );
    let ini = format!(
        "[env:native]\nplatform = native\nlib_extra_dirs = {}\n",
        shared.display()
    );
    write_all(&p, &[("platformio.ini", ini), ("src/main.c", main)]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let build = || {
        home.fbuild(&["build", p.to_str().unwrap(), "-v"])
            .env("PATH", &path)
            .env("FBUILD_ZCCACHE", "off")
            .output()
            .unwrap()
    };
    let first = build();
    assert_ok(&first);
    assert_eq!(run_program(&p), "0 0");
    install("-DUPGRADED=1");
    let after = build();
    assert_ok(&after);
    assert_eq!(compiled(&after), 2, "{}", stderr(&after));
    assert_eq!(run_program(&p), "1 1", "{}", stderr(&after));
}

#[cfg(unix)]
fn which_tool(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
