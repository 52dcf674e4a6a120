//! Every board of Debian's Arduino AVR core builds blink from the core's
//! own recipes, with flash and RAM equal to arduino-builder's for the same
//! sketch, core and compiler (both run here, side by side). Boards are
//! named as FQBNs (`board = arduino:avr:<id>`, menu defaults).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use fbuild_platforms::arduino::{ArduinoPlatform, Fqbn};

const CORE: &str = "/usr/share/arduino/hardware/arduino/avr";

/// (flash, RAM) from the size report.
fn fbuild_sizes(stderr: &str) -> (u64, u64) {
    (size_used(stderr, "Flash:"), size_used(stderr, "RAM:"))
}

/// (flash, RAM) as arduino-builder reports them, with Debian's core.
fn arduino_builder_sizes(fqbn: &str, sketch: &Path, build: &Path) -> (u64, u64) {
    let setup: Vec<std::ffi::OsString> = [
        "-hardware",
        "/usr/share/arduino/hardware",
        "-hardware",
        "/usr/share/arduino-builder",
        "-tools",
        "/usr/share/arduino-builder",
        // avr-gcc 5.4 hides DECIMAL_DIG from C++; fbuild adds the same
        // define when the coordinator's probe says so.
        "-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__",
    ]
    .iter()
    .map(Into::into)
    .collect();
    common::arduino_builder::sizes(&setup, fqbn, sketch, build)
}

#[test]
fn every_board_of_the_core_matches_arduino_builder() {
    let core = ArduinoPlatform::load(Path::new(CORE), "arduino", "avr").unwrap();
    let ids = core.board_ids();
    assert!(ids.len() >= 25, "{ids:?}");
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    // Blink, for boards whose variant names no LED too (the Robot boards).
    let blink = format!(
        "#ifndef LED_BUILTIN\n#define LED_BUILTIN 13\n#endif\n{}",
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/blink/src/blink.ino")
        )
        .unwrap()
    );
    std::fs::write(project.join("src/blink.ino"), &blink).unwrap();
    let sketch = work.path().join("ab/blink/blink.ino");
    std::fs::create_dir_all(sketch.parent().unwrap()).unwrap();
    std::fs::write(&sketch, &blink).unwrap();
    let mut ini = String::new();
    for id in &ids {
        ini.push_str(&format!(
            "[env:{id}]\nplatform = atmelavr\nframework = arduino\nboard = arduino:avr:{id}\n\n"
        ));
    }
    std::fs::write(project.join("platformio.ini"), ini).unwrap();

    let home = TestHome::new();
    let mut differ = Vec::new();
    for id in &ids {
        let out = home.build(&project, &["-e", id]);
        let stderr = said(&out);
        assert!(out.status.success(), "fbuild {id}:\n{stderr}");
        let ours = fbuild_sizes(&stderr);
        // arduino-builder applies no menu defaults (the IDE always passes
        // every option): give it the FQBN fbuild resolved, options spelled
        // out.
        let fqbn = core
            .resolve_board(&Fqbn::parse(&format!("arduino:avr:{id}")).unwrap())
            .unwrap()
            .fqbn
            .to_string();
        let theirs = arduino_builder_sizes(&fqbn, &sketch, &work.path().join("ab/build").join(id));
        if ours != theirs {
            differ.push(format!(
                "{fqbn}: fbuild flash/RAM {ours:?}, arduino-builder {theirs:?}"
            ));
        }
    }
    assert!(differ.is_empty(), "sizes differ:\n{}", differ.join("\n"));
}

/// A library whose header includes SoftwareSerial inside a false `#if`
/// (as FastLED's `chipsets.h` does), used by a sketch with its own
/// `ISR(PCINT0_vect)`; `lib/<name>` of a project and a `-libraries` folder
/// for arduino-builder.
fn isr_sketch(project: &Path, libs: &Path, sketch: &Path, manifest_json: Option<&str>) {
    let lib = libs.join("Blinky");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::write(
        lib.join("src/Blinky.h"),
        "#pragma once\n#include <Arduino.h>\n#if defined(BLINKY_SOFT_SERIAL)\n#include <SoftwareSerial.h>\n#endif\nvoid blinky(uint8_t pin, unsigned ms);\n",
    )
    .unwrap();
    std::fs::write(
        lib.join("src/Blinky.cpp"),
        "#include \"Blinky.h\"\nvoid blinky(uint8_t pin, unsigned ms) { digitalWrite(pin, HIGH); delay(ms); digitalWrite(pin, LOW); delay(ms); }\n",
    )
    .unwrap();
    std::fs::write(
        lib.join("library.properties"),
        "name=Blinky\nversion=1.0.0\nauthor=fbuild tests\nmaintainer=fbuild tests\nsentence=Blinks.\nparagraph=Blinks a pin.\ncategory=Other\nurl=http://localhost/\narchitectures=avr\n",
    )
    .unwrap();
    if let Some(json) = manifest_json {
        std::fs::write(lib.join("library.json"), json).unwrap();
    }
    let text = "#include <Blinky.h>\nvolatile uint8_t changes;\nISR(PCINT0_vect) { changes++; }\nvoid setup() { pinMode(13, OUTPUT); PCICR |= _BV(PCIE0); PCMSK0 |= _BV(PCINT0); }\nvoid loop() { blinky(13, 100 + changes); }\n";
    std::fs::create_dir_all(sketch.parent().unwrap()).unwrap();
    std::fs::write(sketch, text).unwrap();
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/isr.ino"), text).unwrap();
    let _ = std::fs::remove_dir_all(project.join("lib"));
    std::fs::create_dir_all(project.join("lib")).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(&lib)
        .arg(project.join("lib"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// The Debian core copied to `<dir>/hw/arduino/avr` without LTO (a link
/// whose layout is the order of its inputs), with avr-gcc 5.4's
/// DECIMAL_DIG define for C++ in its own platform.txt (both builders read
/// it).
fn core_without_lto(dir: &Path) -> std::path::PathBuf {
    let core = dir.join("hw/arduino/avr");
    std::fs::create_dir_all(&core).unwrap();
    for part in [
        "cores",
        "variants",
        "libraries",
        "boards.txt",
        "programmers.txt",
    ] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(Path::new(CORE).join(part))
            .arg(&core)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let platform = std::fs::read_to_string(Path::new(CORE).join("platform.txt")).unwrap();
    let without: String = platform
        .replace(" -fno-fat-lto-objects", "")
        .replace(" -fuse-linker-plugin", "")
        .replace(" -flto", "");
    assert!(!without.contains("lto"));
    std::fs::write(
        core.join("platform.txt"),
        format!("{without}\ncompiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__\n"),
    )
    .unwrap();
    core
}

/// arduino-builder for the uno with `hardware`, `-libraries libs`.
fn arduino_builder_with(
    hardware: &str,
    libs: &Path,
    sketch: &Path,
    build: &Path,
    prefs: &[&str],
) -> String {
    std::fs::create_dir_all(build).unwrap();
    let mut cmd = Command::new("arduino-builder");
    cmd.args([
        "-compile",
        "-core-api-version",
        "10607",
        "-hardware",
        hardware,
    ])
    .args(["-hardware", "/usr/share/arduino-builder"])
    .args([
        "-tools",
        "/usr/share/arduino-builder",
        "-fqbn",
        "arduino:avr:uno",
    ])
    .arg("-libraries")
    .arg(libs)
    .arg("-build-path")
    .arg(build);
    for p in prefs {
        cmd.arg(format!("-prefs={p}"));
    }
    let out = cmd.arg(sketch).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "arduino-builder:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_library_behind_a_false_if_stays_out_of_the_firmware_like_arduino_builder() {
    let work = tempfile::tempdir().unwrap();
    let (project, libs) = (work.path().join("project"), work.path().join("libs"));
    let sketch = work.path().join("sketch/isr/isr.ino");
    isr_sketch(&project, &libs, &sketch, None);
    let home = TestHome::new();
    let ini = |platform: &str, extra: &str| {
        std::fs::write(
            project.join("platformio.ini"),
            format!("[env:uno]\nplatform = {platform}\nframework = arduino\nboard = uno\n{extra}"),
        )
        .unwrap()
    };

    // The Debian core (LTO): arduino-builder's flash and RAM.
    ini("atmelavr", "");
    let out = home.build(&project, &[]);
    let stderr = said(&out);
    assert!(out.status.success(), "{stderr}");
    let theirs = arduino_builder_with(
        "/usr/share/arduino/hardware",
        &libs,
        &sketch,
        &work.path().join("ab-lto"),
        &["compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__"],
    );
    let number = |prefix: &str| -> u64 {
        theirs
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{theirs}"))
    };
    assert_eq!(
        fbuild_sizes(&stderr),
        (number("Sketch uses "), number("Global variables use ")),
        "{stderr}"
    );

    // A core without LTO: the firmware's bytes are arduino-builder's (its
    // objects in its order: .S, .c, then .cpp).
    let core = core_without_lto(work.path());
    let core = core.to_str().unwrap();
    ini(core, "");
    let out = home.build(&project, &[]);
    assert_ok(&out);
    let ab = work.path().join("ab-nolto");
    let hardware = work.path().join("hw");
    arduino_builder_with(hardware.to_str().unwrap(), &libs, &sketch, &ab, &[]);
    let ours = std::fs::read(project.join(".fbuild/build/uno/firmware.hex")).unwrap();
    assert!(
        ours == std::fs::read(ab.join("isr.ino.hex")).unwrap(),
        "the firmware differs from arduino-builder's"
    );

    // Linked object by object (`lib_archive = no`), SoftwareSerial's
    // handler collides with the sketch's: what the archives prevent.
    ini(core, "lib_archive = no\n");
    let out = home.build(&project, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        stderr.contains("multiple definition of `__vector_3'"),
        "{stderr}"
    );

    // A library that asks for it (`build.libArchive: false`) is linked
    // object by object too.
    isr_sketch(
        &project,
        &libs,
        &sketch,
        Some(r#"{"name": "Blinky", "version": "1.0.0", "build": {"libArchive": false}}"#),
    );
    ini(core, "");
    let out = home.build(&project, &["-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ok(&out);
    let link = stderr
        .lines()
        .find(|l| l.contains("firmware.elf") && l.contains("-o "))
        .unwrap_or_else(|| panic!("no link line:\n{stderr}"));
    assert!(link.contains("lib/Blinky/Blinky.cpp.o"), "{link}");
    assert!(link.contains("libSoftwareSerial.a"), "{link}");
}
