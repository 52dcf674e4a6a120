//! PlatformIO's keys and variables have their effect: warnings as
//! PlatformIO's builds show them (`-Wall`, not the core's `-w`),
//! `build_src_flags` on the project's sources only, `PLATFORMIO_*`
//! variables on top of the file's values (and the unused ones named), and
//! results on stdout apart from progress and diagnostics on stderr.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const UNUSED: &str = "int unused_here(void) { int spare; return 0; }\n";

#[test]
fn avr_builds_warn_as_platformio_and_results_go_to_stdout() {
    let home = TestHome::new();
    let dir = example("blink");
    let ini = |extra: &str| {
        write(
            dir.path(),
            "platformio.ini",
            &format!("[env:uno]\nplatform = atmelavr\nframework = arduino\nboard = uno\n{extra}"),
        )
    };
    ini("");
    write(dir.path(), "src/spare.c", UNUSED);
    let out = home.build(dir.path(), &[]);
    assert_ok(&out);
    let (said, err) = (stdout(&out), stderr(&out));
    // The core's `-w` would hide it: PlatformIO compiles with -Wall.
    assert!(
        err.contains("unused variable") && err.contains("spare"),
        "{err}"
    );
    // Results on stdout (`fbuild build | grep RAM`), the rest on stderr.
    assert!(size_used(&said, "RAM:") > 0, "{said}");
    assert!(said.contains("firmware.elf in "), "{said}");
    // The size report after its environment's header, one as several.
    let header = said
        .find("Processing uno (platform: atmelavr; board: uno; framework: arduino)")
        .unwrap_or_else(|| panic!("no header:\n{said}"));
    assert!(header < said.find("RAM:").unwrap(), "{said}");
    assert!(
        !said.contains("compiling") && !said.contains("warning"),
        "{said}"
    );
    assert!(
        !err.contains("RAM:") && err.contains("compiling src/spare.c"),
        "{err}"
    );

    // `build_warnings = none`: the core's -w (as arduino-cli), recompiled.
    ini("build_warnings = none\n");
    let out = home.build(dir.path(), &[]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(err.contains("compiling src/spare.c"), "{err}");
    assert!(!err.contains("unused variable"), "{err}");
    // `all`: -Wall -Wextra.
    write(
        dir.path(),
        "src/spare.c",
        "int unused_arg(int a) { return 0; }\n",
    );
    ini("build_warnings = all\n");
    let out = home.build(dir.path(), &[]);
    assert!(
        stderr(&out).contains("unused parameter"),
        "{}",
        stderr(&out)
    );
    ini("build_warnings = loud\n");
    let out = home.build(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("build_warnings = \"loud\"")
            && stderr(&out).contains("none, default, more, all"),
        "{}",
        stderr(&out)
    );
}

/// A native project whose program prints what its source and its
/// library's source saw of `WHO` and `EXTRA`.
fn flagged_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/main.c",
        "#include <stdio.h>\n#include \"lib.h\"\n\
         #ifndef WHO\n#define WHO \"none\"\n#endif\n#ifndef EXTRA\n#define EXTRA 0\n#endif\n\
         int main(void) { printf(\"%s %d %s %d\\n\", WHO, EXTRA, lib_who(), lib_extra()); return 0; }\n",
    );
    write(
        dir.path(),
        "lib/Lib/lib.h",
        "const char *lib_who(void);\nint lib_extra(void);\n",
    );
    write(
        dir.path(),
        "lib/Lib/lib.c",
        "#include \"lib.h\"\n#ifndef WHO\n#define WHO \"none\"\n#endif\n\
         #ifndef EXTRA\n#define EXTRA 0\n#endif\n\
         const char *lib_who(void) { return WHO; }\nint lib_extra(void) { return EXTRA; }\n",
    );
    dir
}

fn run_program(dir: &Path, env: &str) -> String {
    let out = std::process::Command::new(dir.join(".fbuild/build").join(env).join("program"))
        .output()
        .unwrap();
    assert_ok(&out);
    stdout(&out).trim().to_string()
}

#[test]
fn build_src_flags_and_platformio_variables_take_effect() {
    let home = TestHome::new();
    let dir = flagged_project();
    write(
        dir.path(),
        "platformio.ini",
        "[env:host]\nplatform = native\nbuild_src_flags = '-DWHO=\"src\"'\n",
    );
    assert_ok(&home.build_uncached(dir.path(), &[]));
    // The project's source only: the library does not see it.
    assert_eq!(run_program(dir.path(), "host"), "src 0 none 0");

    // PLATFORMIO_BUILD_FLAGS adds to build_flags (every source), the
    // older PLATFORMIO_SRC_BUILD_FLAGS to build_src_flags.
    let out = home
        .fbuild(&["build", dir.path().to_str().unwrap()])
        .env("FBUILD_ZCCACHE", "off")
        .env("PLATFORMIO_BUILD_FLAGS", "-DEXTRA=7")
        .env("PLATFORMIO_SRC_BUILD_FLAGS", "-DEXTRA=8")
        .env("PLATFORMIO_CORE_DIR", "/nowhere")
        .output()
        .unwrap();
    assert_ok(&out);
    // The source: EXTRA=7 then EXTRA=8 (the later -D wins, GCC warns);
    // the library: 7.
    assert_eq!(run_program(dir.path(), "host"), "src 8 none 7");
    // A variable fbuild does not use is named, not silently ignored.
    assert!(
        stderr(&out).contains("PLATFORMIO_CORE_DIR set here but not used by fbuild"),
        "{}",
        stderr(&out)
    );

    // A filter from the variable that leaves nothing: the error says so.
    let out = home
        .fbuild(&["build", dir.path().to_str().unwrap()])
        .env("FBUILD_ZCCACHE", "off")
        .env("PLATFORMIO_BUILD_SRC_FILTER", "-<*>")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("which PLATFORMIO_BUILD_SRC_FILTER adds to"),
        "{}",
        stderr(&out)
    );
    // PLATFORMIO_DEFAULT_ENVS chooses among several (a name the file's
    // default_envs has too is built once); PLATFORMIO_SRC_DIR moves the
    // sources.
    write(
        dir.path(),
        "platformio.ini",
        "[platformio]\ndefault_envs = two\n\n[env:one]\nplatform = native\n\n[env:two]\nplatform = native\nbuild_flags = -DEXTRA=2\n",
    );
    std::fs::rename(dir.path().join("src"), dir.path().join("code")).unwrap();
    let out = home
        .fbuild(&["build", dir.path().to_str().unwrap()])
        .env("FBUILD_ZCCACHE", "off")
        .env("PLATFORMIO_DEFAULT_ENVS", "two")
        .env("PLATFORMIO_SRC_DIR", "code")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(run_program(dir.path(), "two"), "none 2 none 2");
    assert!(!dir.path().join(".fbuild/build/one").exists());
    assert_eq!(
        said(&out)
            .matches("[two] .fbuild/build/two/program in")
            .count(),
        1,
        "{}",
        said(&out)
    );
}

/// The folder variables, the source flags and filter (the filter by its
/// older name), and extra_scripts from the environment.
#[test]
fn platformio_folder_and_source_variables_take_effect() {
    let home = TestHome::new();
    let dir = flagged_project();
    write(
        dir.path(),
        "platformio.ini",
        "[env:host]\nplatform = native\n",
    );
    // Headers in inc/, libraries in libs/, a source the filter leaves out.
    std::fs::rename(dir.path().join("lib"), dir.path().join("libs")).unwrap();
    write(dir.path(), "inc/extra.h", "#define EXTRA 5\n");
    write(dir.path(), "src/main_first.h", "#include \"extra.h\"\n");
    let main = std::fs::read_to_string(dir.path().join("src/main.c")).unwrap();
    write(
        dir.path(),
        "src/main.c",
        &format!("#include \"main_first.h\"\n{main}"),
    );
    write(
        dir.path(),
        "src/broken.c",
        "#error left out by the filter\n",
    );
    let build = |vars: &[(&str, &str)]| {
        let mut cmd = home.fbuild(&["build", dir.path().to_str().unwrap()]);
        cmd.env("FBUILD_ZCCACHE", "off");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = build(&[
        ("PLATFORMIO_INCLUDE_DIR", "inc"),
        ("PLATFORMIO_LIB_DIR", "libs"),
        ("PLATFORMIO_BUILD_DIR", "out"),
        ("PLATFORMIO_SRC_FILTER", "+<*> -<broken.c>"),
        ("PLATFORMIO_BUILD_SRC_FLAGS", "-DWHO=\"var\""),
    ]);
    assert_ok(&out);
    assert!(!dir.path().join(".fbuild/build/host").exists());
    let program = dir.path().join("out/host/program");
    let ran = std::process::Command::new(&program).output().unwrap();
    assert_eq!(stdout(&ran).trim(), "var 5 none 0");
    // Without the filter the broken source is compiled (and fails).
    let out = build(&[
        ("PLATFORMIO_INCLUDE_DIR", "inc"),
        ("PLATFORMIO_LIB_DIR", "libs"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left out by the filter"),
        "{}",
        stderr(&out)
    );
    // extra_scripts from the environment refuses a build that otherwise
    // succeeds, naming it.
    let good = [
        ("PLATFORMIO_INCLUDE_DIR", "inc"),
        ("PLATFORMIO_LIB_DIR", "libs"),
        ("PLATFORMIO_SRC_FILTER", "+<*> -<broken.c>"),
    ];
    assert_ok(&build(&good));
    let out = build(
        &[
            good.as_slice(),
            &[("PLATFORMIO_EXTRA_SCRIPTS", "pre:gen.py")],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("PLATFORMIO_EXTRA_SCRIPTS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_host_adds_no_warning_flag_unless_asked() {
    let home = TestHome::new();
    let dir = flagged_project();
    let args = |level: &str| -> Vec<String> {
        write(
            dir.path(),
            "platformio.ini",
            &format!("[env:host]\nplatform = native\n{level}"),
        );
        assert_ok(&home.build_uncached(dir.path(), &[]));
        first_compile(dir.path(), "host")
    };
    // As PlatformIO's native builds: nothing added.
    let plain = args("");
    assert!(
        !plain.iter().any(|a| a.starts_with("-W") || a == "-w"),
        "{plain:?}"
    );
    let all = args("build_warnings = all\n");
    assert!(all.contains(&"-Wextra".to_string()), "{all:?}");
    let none = args("build_warnings = none\n");
    assert!(none.contains(&"-w".to_string()), "{none:?}");
}
