//! `fbuild build` on the examples with Debian's avr-gcc and Arduino core:
//! boards, firmware that runs in simavr, sizes next to arduino-builder's,
//! incremental builds, clear errors, the project lock.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// "(N compiled, M up to date)" from the summary line.
fn counts(out: &Output) -> (usize, usize) {
    let text = said(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains(" compiled, "))
        .unwrap_or_else(|| panic!("{text}"));
    let inner = &line[line.rfind('(').unwrap() + 1..line.rfind(')').unwrap()];
    let mut nums = inner
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    (
        nums.next().unwrap().parse().unwrap(),
        nums.next().unwrap().parse().unwrap(),
    )
}

/// Flash bytes from the size report.
fn flash(out: &Output) -> u64 {
    size_used(&said(out), "Flash:")
}

/// arduino-builder 1.3.25 with the same Debian core and avr-gcc 5.4
/// (`-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__`),
/// recorded on this machine: sketch, board → flash bytes.
const ARDUINO_BUILDER_FLASH: &[(&str, &str, u64)] = &[
    ("blink", "uno", 902),
    ("blink", "nano", 902),
    ("blink", "megaatmega2560", 1436),
    ("serial-hello", "uno", 1682),
    ("serial-hello", "nano", 1682),
    ("serial-hello", "megaatmega2560", 1988),
];

#[test]
fn examples_build_for_three_boards_within_5_percent_of_arduino_builder() {
    let home = TestHome::new();
    for sketch in ["blink", "serial-hello"] {
        let dir = example(sketch);
        for (_, board, reference) in ARDUINO_BUILDER_FLASH
            .iter()
            .filter(|(s, _, _)| *s == sketch)
        {
            let out = home.build(dir.path(), &["-e", board]);
            assert_ok(&out);
            let ours = flash(&out);
            let ratio = ours as f64 / *reference as f64;
            assert!(
                (0.95..=1.05).contains(&ratio),
                "{sketch} {board}: {ours} vs {reference} bytes"
            );
            let env_dir = dir.path().join(".fbuild/build").join(board);
            for f in [
                "firmware.elf",
                "firmware.hex",
                "firmware.map",
                "compile_commands.json",
            ] {
                assert!(env_dir.join(f).is_file(), "{sketch} {board}: no {f}");
            }
        }
    }
}

#[test]
fn serial_hello_runs_in_simavr() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    assert_ok(&home.build(dir.path(), &["-e", "uno"]));
    let elf = dir.path().join(".fbuild/build/uno/firmware.elf");
    let mut sim = Command::new("simavr")
        .args(["-m", "atmega328p", "-f", "16000000"])
        .arg(&elf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simavr");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = sim.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("hello from uno") => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(found, "no greeting from the firmware: {seen:?}");
}

#[test]
fn incremental_builds_run_only_what_changed() {
    let home = TestHome::new();
    let dir = example("serial-hello");
    let first = home.build(dir.path(), &["-e", "uno"]);
    assert_ok(&first);
    let (compiled, _) = counts(&first);
    assert!(compiled >= 20, "cold build compiled {compiled}");
    let elf = dir.path().join(".fbuild/build/uno/firmware.elf");
    let elf_time = std::fs::metadata(&elf).unwrap().modified().unwrap();
    let compiles = || home.zccache_stats()["total_compilations"].as_u64().unwrap();
    let before = compiles();

    // Nothing changed: no compiler runs at all, the firmware is untouched.
    let noop = home.build(dir.path(), &["-e", "uno"]);
    assert_ok(&noop);
    assert_eq!(counts(&noop), (0, compiled));
    assert_eq!(compiles(), before, "a compiler ran on a no-op build");
    assert_eq!(
        std::fs::metadata(&elf).unwrap().modified().unwrap(),
        elf_time
    );

    // A comment appended: the compiler would see the same text (tokens
    // at the same lines and columns), so nothing compiles or relinks. (No
    // wait for the clock to tick first: the edit changes the file's size,
    // which the build sees whatever the mtime's granularity.)
    let ino = dir.path().join("src/serial-hello.ino");
    let text = std::fs::read_to_string(&ino).unwrap();
    std::fs::write(&ino, format!("{text}// a note, appended\n")).unwrap();
    let commented = home.build(dir.path(), &["-e", "uno"]);
    assert_ok(&commented);
    assert_eq!(counts(&commented), (0, compiled), "{}", stderr(&commented));
    assert_eq!(compiles(), before, "a compiler ran for a comment");
    assert_eq!(
        std::fs::metadata(&elf).unwrap().modified().unwrap(),
        elf_time
    );

    // A code edit recompiles the sketch alone, and relinks.
    let text = std::fs::read_to_string(&ino).unwrap();
    std::fs::write(&ino, text.replace("delay(1000)", "delay(999)")).unwrap();
    let touched = home.build(dir.path(), &["-e", "uno"]);
    assert_ok(&touched);
    assert_eq!(counts(&touched), (1, compiled - 1));
    assert!(
        stderr(&touched).contains("compiling src/serial-hello.ino.cpp"),
        "{}",
        stderr(&touched)
    );
    assert!(
        std::fs::metadata(&elf).unwrap().modified().unwrap() > elf_time,
        "not relinked"
    );

    // Changing build_flags recompiles everything.
    let ini = dir.path().join("platformio.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(
        &ini,
        text.replace(
            "-DBOARD_NAME=\\\"uno\\\"",
            "-DBOARD_NAME=\\\"uno\\\" -DEXTRA=1",
        ),
    )
    .unwrap();
    let flagged = home.build(dir.path(), &["-e", "uno"]);
    assert_ok(&flagged);
    assert_eq!(counts(&flagged), (compiled, 0));

    // --clean starts over, with the core from the library store (kept by
    // the last build: tests/library_store.rs); `fbuild clean` removes the
    // outputs.
    let clean = home.build(dir.path(), &["-e", "uno", "--clean"]);
    assert_ok(&clean);
    let (again, served) = counts(&clean);
    assert!(again >= 1 && served >= 20, "{}", stderr(&clean));
    assert_eq!(again + served, compiled);
    assert!(
        !dir.path()
            .join(".fbuild/build/uno/core/wiring.c.o")
            .exists()
    );
    let out = home
        .fbuild(&["clean", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(!dir.path().join(".fbuild/build/uno").exists());
}

#[test]
fn sketch_errors_point_at_the_ino_line() {
    let home = TestHome::new();
    let dir = example("blink");
    let ino = dir.path().join("src/blink.ino");
    let mut lines: Vec<String> = std::fs::read_to_string(&ino)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[6] = "  undefined_function_here(42);".into(); // line 7
    std::fs::write(&ino, lines.join("\n")).unwrap();
    let out = home.build(dir.path(), &["-e", "uno"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("src/blink.ino:7:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_errors_are_clear_and_exit_1() {
    let home = TestHome::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/main.ino"),
        "void setup() {}\nvoid loop() {}\n",
    )
    .unwrap();
    let ini = dir.path().join("platformio.ini");

    std::fs::write(&ini, "[env:uno]\nplatform = atmelavr\nboard uno\n").unwrap();
    let out = home.build(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("platformio.ini:3: expected `key = value`"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        &ini,
        "[env:uno]\nplatform = atmelavr\nframework = arduino\nboard = unoo\n",
    )
    .unwrap();
    let out = home.build(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown board \"unoo\"")
            && stderr(&out).contains("did you mean uno"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        &ini,
        "[env:uno]\nplatform = atmelavr\nframework = arduino\nboard = uno\nboard_speed = 3\n",
    )
    .unwrap();
    let out = home.build(dir.path(), &["-e", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("unknown option `board_speed`"), "{err}");
    assert!(
        err.contains("unknown environment \"nope\"; known: uno"),
        "{err}"
    );
}

#[test]
fn wire_library_and_native_examples() {
    let home = TestHome::new();
    let dir = example("wire-lib");
    let out = home.build(dir.path(), &[]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("compiling lib/Blinker/Blinker.cpp")
            && err.contains("compiling lib/Wire/Wire.cpp"),
        "{err}"
    );
    assert!(!err.contains("lib/SPI"), "SPI is not used: {err}");

    let native = example("native");
    assert_ok(&home.build(native.path(), &[]));
    let run = Command::new(native.path().join(".fbuild/build/native/program"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from native\n");
}

#[test]
fn two_builds_at_once_take_turns() {
    let home = TestHome::new();
    let dir = example("blink");
    home.start_with(&[("FBUILD_ZCCACHE_URL", &mirror_url())]);
    let spawn = || {
        home.fbuild(&["build", dir.path().to_str().unwrap(), "-e", "uno"])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_ok(&a);
    assert_ok(&b);
    let waited = [&a, &b]
        .iter()
        .filter(|o| stderr(o).contains("another build of this project is running"))
        .count();
    assert_eq!(waited, 1, "{}\n---\n{}", stderr(&a), stderr(&b));
    assert!(Path::new(&dir.path().join(".fbuild/build/uno/firmware.hex")).is_file());
}

#[test]
fn managed_toolchain_is_installed_once_through_the_gate() {
    let home = TestHome::new();
    let packages = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("avr-package-mirror");
    let pack = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/pack-avr-toolchain"
    ))
    .arg(&packages)
    .output()
    .unwrap();
    assert_ok(&pack);
    let server = common::http::TestServer::serve(&packages);
    let empty_path = tempfile::tempdir().unwrap(); // no system toolchain visible
    let dir = example("blink");
    let build = |env: &str| {
        home.fbuild(&["build", dir.path().to_str().unwrap(), "-e", env])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .env(
                "FBUILD_PACKAGE_INDEX",
                format!("{}/package_index.json", server.url()),
            )
            .env("PATH", empty_path.path())
            .output()
            .unwrap()
    };
    assert_ok(&build("uno"));
    assert_ok(&build("nano"));
    assert_eq!(
        server.gets("/avr-gcc.tar.gz"),
        1,
        "the toolchain was downloaded more than once"
    );
    // The system core is used: only the compiler came from the index.
    assert_eq!(server.gets("/avr-core.tar.gz"), 0);
    let tools = home.path().join("toolchains");
    let installed: Vec<_> = std::fs::read_dir(&tools)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(installed, ["avr-gcc-5.4.0"]);
    let status = home.status_json();
    let installs = status["installs"].as_array().unwrap();
    assert!(
        installs
            .iter()
            .any(|i| i["name"] == "tool-arduino-avr-gcc" && i["phase"] == "installed"),
        "{status}"
    );
}
