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

/// (flash, RAM) as arduino-builder reports them.
fn arduino_builder_sizes(fqbn: &str, sketch: &Path, build: &Path) -> (u64, u64) {
    std::fs::create_dir_all(build).unwrap();
    let out = Command::new("arduino-builder")
        .args([
            "-compile",
            "-hardware",
            "/usr/share/arduino/hardware",
            "-hardware",
            "/usr/share/arduino-builder",
            "-tools",
            "/usr/share/arduino-builder",
            "-fqbn",
            fqbn,
            // avr-gcc 5.4 hides DECIMAL_DIG from C++; fbuild adds the same
            // define when the coordinator's probe says so.
            "-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__",
            "-build-path",
        ])
        .arg(build)
        .arg(sketch)
        .output()
        .expect("arduino-builder (scripts/setup-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "arduino-builder {fqbn}:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} in arduino-builder's output:\n{text}"))
    };
    (number("Sketch uses "), number("Global variables use "))
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
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
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
