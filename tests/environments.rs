//! A project of several environments builds each in the file's order, as
//! PlatformIO does: a header before each, one environment's failure does
//! not stop the others, a table of every environment's status at the end,
//! exit 1 if any failed; `-e a,b` chooses several.

mod common;

use common::*;

const INI: &str = "\
[env:zeta]
platform = native

[env:alpha]
platform = espressif32
board = esp32dev
framework = arduino

[env:mid]
platform = native
build_flags = -DMID=1
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("platformio.ini"), INI).unwrap();
    std::fs::write(
        dir.path().join("src/main.c"),
        "int main(void) { return 0; }\n",
    )
    .unwrap();
    dir
}

/// `fbuild build <dir> args…` without zccache: its exit code and all it
/// said, results and diagnostics in the order written.
fn build(home: &TestHome, dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["build", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    interleaved(home.fbuild(&all).env("FBUILD_ZCCACHE", "off"))
}

#[test]
fn every_environment_is_built_in_file_order_and_a_failure_is_tabled() {
    let home = TestHome::new();
    let dir = project();
    let (code, err) = build(&home, dir.path(), &[]);
    assert_eq!(code, Some(1), "{err}");
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?}:\n{err}"))
    };
    // File order: zeta, alpha, mid; each after its header.
    assert!(
        at("Processing zeta (platform: native)")
            < at("Processing alpha (platform: espressif32; board: esp32dev; framework: arduino)")
    );
    assert!(at("Processing alpha") < at("Processing mid (platform: native)"));
    assert!(at("Processing alpha") < at("unknown platform \"espressif32\""));
    assert!(at("unknown platform \"espressif32\"") < at("Processing mid"));
    for (env, status) in [("zeta", "SUCCESS"), ("alpha", "FAILED"), ("mid", "SUCCESS")] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(env) && l.contains(status)),
            "{env} {status}:\n{err}"
        );
    }
    assert!(err.contains("2 succeeded, 1 failed in "), "{err}");
    for env in ["zeta", "mid"] {
        assert!(
            dir.path()
                .join(".fbuild/build")
                .join(env)
                .join("program")
                .is_file(),
            "{env}"
        );
    }

    // -e with a list: those two, in the order given; all succeed.
    let (code, err) = build(&home, dir.path(), &["-e", "mid,zeta"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.find("Processing mid").unwrap() < err.find("Processing zeta").unwrap(),
        "{err}"
    );
    assert!(err.contains("2 succeeded, 0 failed in "), "{err}");
    assert!(!err.contains("alpha"), "{err}");

    // A name twice is one build; an empty list is named as such.
    let (code, err) = build(&home, dir.path(), &["-e", "zeta,,zeta"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("fbuild: [zeta] ").count(), 1, "{err}");
    let (code, err) = build(&home, dir.path(), &["-e", ","]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("names no environment"), "{err}");
}

#[test]
fn pio_run_spellings_and_targets() {
    let home = TestHome::new();
    let dir = project();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        home.fbuild(args)
            .env("FBUILD_ZCCACHE", "off")
            .output()
            .unwrap()
    };
    // `run -d DIR -t compiledb`: compile_commands.json where clangd looks.
    let out = run(&["run", "-d", d, "-e", "zeta", "-t", "compiledb"]);
    assert_ok(&out);
    let db: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("compile_commands.json")).unwrap())
            .unwrap();
    assert!(db[0]["file"].as_str().unwrap().ends_with("main.c"), "{db}");
    // A build that fails still gives clangd its commands (exit 1).
    std::fs::remove_file(dir.path().join("compile_commands.json")).unwrap();
    std::fs::write(dir.path().join("src/main.c"), "int main(void) { return }\n").unwrap();
    let out = run(&["run", "-d", d, "-e", "zeta", "-t", "compiledb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(dir.path().join("compile_commands.json").is_file());
    std::fs::write(
        dir.path().join("src/main.c"),
        "int main(void) { return 0; }\n",
    )
    .unwrap();
    // `-t clean` removes the outputs and builds nothing; `clean -d` too.
    let out = run(&["run", "-d", d, "-e", "zeta", "-t", "clean"]);
    assert_ok(&out);
    assert!(!dir.path().join(".fbuild/build/zeta").exists());
    assert_ok(&run(&["run", "-d", d, "-e", "mid"]));
    assert_ok(&run(&["clean", "-d", d, "-e", "mid"]));
    assert!(!dir.path().join(".fbuild/build/mid").exists());
    // `test -d`: that project's test folder (none here, and it says so).
    let out = run(&["test", "-d", d, "-e", "mid", "--list-tests"]);
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let said = format!("no test suites in {}", root.join("test").display());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&said),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Both spellings at once are refused (which one?).
    let out = run(&["clean", d, "-d", d]);
    assert_eq!(out.status.code(), Some(2));
    // A port given where nothing flashes or watches it is said unused.
    let out = run(&[
        "run",
        "-d",
        d,
        "-e",
        "mid",
        "-p",
        "/dev/ttyX",
        "--monitor-port",
        "/dev/ttyY",
    ]);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("-p/--upload-port is used by -t upload"),
        "{err}"
    );
    assert!(
        err.contains("--monitor-port is used by -t monitor only"),
        "{err}"
    );
    // An unknown target is named, with the known ones.
    let out = run(&["run", "-d", d, "-t", "uplaod"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown target \"uplaod\"") && err.contains("upload"),
        "{err}"
    );

    // `run -e uno -t upload -p PORT` builds, then flashes through the port
    // given (no board here: the port that is not there is named).
    let blink = example("blink");
    let b = blink.path().to_str().unwrap();
    let out = run(&[
        "run",
        "-d",
        b,
        "-e",
        "uno",
        "-t",
        "upload",
        "-p",
        "/dev/fbuild-no-such-port",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        blink
            .path()
            .join(".fbuild/build/uno/firmware.hex")
            .is_file(),
        "{err}"
    );
    assert!(err.contains("/dev/fbuild-no-such-port"), "{err}");
    // `upload` is deploy; `--upload-port` its port; `-d` its project.
    let out = run(&[
        "upload",
        "-d",
        b,
        "-e",
        "uno",
        "--upload-port",
        "/dev/fbuild-no-such-port",
        "--skip-build",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/dev/fbuild-no-such-port"));
}

#[test]
fn extra_scripts_refuse_their_environment_and_name_the_line() {
    let home = TestHome::new();
    let dir = project();
    std::fs::write(
        dir.path().join("platformio.ini"),
        "[env:plain]\nplatform = native\n\n[env:scripted]\nplatform = native\nextra_scripts = pre:patch.py\n",
    )
    .unwrap();
    let out = home.build_uncached(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("platformio.ini:6"), "{err}");
    assert!(
        err.contains("extra_scripts = pre:patch.py in [env:scripted]"),
        "{err}"
    );
    assert!(!err.contains("unknown option"), "{err}");
    assert!(dir.path().join(".fbuild/build/plain/program").is_file());
    assert!(!dir.path().join(".fbuild/build/scripted/program").exists());

    // Empty: no scripts (how one inherited from [env] is cancelled).
    std::fs::write(
        dir.path().join("platformio.ini"),
        "[env]\nextra_scripts = patch.py\n\n[env:scripted]\nplatform = native\nextra_scripts =\n",
    )
    .unwrap();
    assert_ok(&home.build_uncached(dir.path(), &[]));
}

#[test]
fn code_written_for_platformio_sees_its_define() {
    let home = TestHome::new();
    let dir = project();
    std::fs::write(
        dir.path().join("src/main.c"),
        "#if !defined(PLATFORMIO) || PLATFORMIO < 60000\n#error not PlatformIO's define\n#endif\n\
         int main(void) { return 0; }\n",
    )
    .unwrap();
    let out = home.build_uncached(dir.path(), &["-e", "zeta"]);
    assert_ok(&out);
}

#[test]
fn build_type_debug_compiles_for_the_debugger() {
    let home = TestHome::new();
    let dir = project();
    let ini = |build_type: &str| {
        std::fs::write(
            dir.path().join("platformio.ini"),
            format!("[env:zeta]\nplatform = native\nbuild_type = {build_type}\n"),
        )
        .unwrap()
    };
    let args = || first_compile(dir.path(), "zeta");
    ini("debug");
    assert_ok(&home.build_uncached(dir.path(), &[]));
    let debug = args();
    let at = |flag: &str| debug.iter().rposition(|a| a == flag);
    assert!(at("-Og").is_some() && at("-g3").is_some(), "{debug:?}");
    // After any -O of the recipe's: the last -O is the one GCC takes.
    let last_o = debug.iter().rposition(|a| a.starts_with("-O")).unwrap();
    assert_eq!(Some(last_o), at("-Og"), "{debug:?}");
    ini("release");
    assert_ok(&home.build_uncached(dir.path(), &[]));
    assert!(!args().iter().any(|a| a == "-Og"));
    ini("debgu");
    let out = home.build_uncached(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("build_type = \"debgu\"") && err.contains("release, debug, test"),
        "{err}"
    );
}
