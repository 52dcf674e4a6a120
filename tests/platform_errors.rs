//! A core given as a folder (`platform = <dir>`), and what a broken core
//! or a wrong board option says: the file, the line or key, what to do.
//! The cores are copies of Debian's Arduino AVR core with one thing
//! changed.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const CORE: &str = "/usr/share/arduino/hardware/arduino/avr";

/// `<dir>/hw/testvendor/avr`: Debian's core with `edit` applied to its
/// platform.txt. avr-gcc 5.4's DECIMAL_DIG quirk is the core's data here
/// (as arduino-builder's users pass it), since no coordinator toolchain
/// probe is involved for a core on disk.
fn core_copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let core = dir.join("hw/testvendor/avr");
    std::fs::create_dir_all(&core).unwrap();
    for sub in ["cores", "variants", "libraries"] {
        std::os::unix::fs::symlink(Path::new(CORE).join(sub), core.join(sub)).unwrap();
    }
    std::fs::copy(Path::new(CORE).join("boards.txt"), core.join("boards.txt")).unwrap();
    let platform = std::fs::read_to_string(Path::new(CORE).join("platform.txt")).unwrap();
    let platform = edit(platform) + "\ncompiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__\n";
    std::fs::write(core.join("platform.txt"), platform).unwrap();
    core
}

/// Builds blink with `board` on `core`; returns (exit code, stderr).
fn build(core: &Path, board: &str) -> (Option<i32>, String) {
    let project = example("blink");
    std::fs::write(
        project.path().join("platformio.ini"),
        format!(
            "[env:t]\nplatform = {}\nframework = arduino\nboard = {board}\n",
            core.display()
        ),
    )
    .unwrap();
    let home = TestHome::new();
    let out = home.build(project.path(), &[]);
    let built = project
        .path()
        .join(".fbuild/build/t/firmware.hex")
        .is_file();
    // Results (the size report) and diagnostics both.
    let err = said(&out);
    assert_eq!(built, out.status.success(), "{err}");
    (out.status.code(), err)
}

#[test]
fn a_core_on_disk_builds_by_its_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_copy(dir.path(), |p| p);
    let (code, err) = build(&core, "uno");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("used 902 bytes"), "{err}");
    let (code, err) = build(&core, "testvendor:avr:nano:cpu=atmega328old");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn an_undefined_placeholder_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_copy(dir.path(), |p| {
        p.replace("{compiler.cpp.flags} -mmcu", "{compiler.cpp.flagz} -mmcu")
    });
    // As arduino-cli: the placeholder stays in the command as written (the
    // compiler then fails on it), and fbuild says where it came from.
    let (code, err) = build(&core, "uno");
    assert_eq!(code, Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("fbuild: warning") && l.contains("{compiler.cpp.flagz}"))
        .unwrap_or_default();
    assert!(err.contains("{compiler.cpp.flagz}: No such file"), "{err}");
    assert!(line.contains("recipe.cpp.o.pattern"), "{err}");
    assert!(
        line.contains(&format!("{}:", core.join("platform.txt").display())),
        "{err}"
    );
}

#[test]
fn a_failing_recipe_names_its_key_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_copy(dir.path(), |p| {
        p + "\nrecipe.hooks.prebuild.1.pattern=/bin/false\n"
    });
    let (code, err) = build(&core, "uno");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("recipe.hooks.prebuild.1.pattern"), "{err}");
    assert!(err.contains("platform.txt:"), "{err}");
    assert!(err.contains("/bin/false exited with 1"), "{err}");
}

#[test]
fn an_unknown_menu_option_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_copy(dir.path(), |p| p);
    let (code, err) = build(&core, "testvendor:avr:nano:cpu=atmega9000");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cpu=atmega9000 is not an option"), "{err}");
    assert!(err.contains("atmega328old"), "{err}");
    assert!(
        err.contains(&core.join("boards.txt").display().to_string()),
        "{err}"
    );
}

/// A vendor package with boards only (no platform.txt, no core of its own)
/// whose board uses `build.core=testvendor:arduino`: the core, variant,
/// libraries and platform.txt come from the referenced package beside it
/// (`<hardware>/<vendor>/<arch>`), as the Arduino spec says.
#[test]
fn a_board_may_use_another_vendors_core() {
    let dir = tempfile::tempdir().unwrap();
    core_copy(dir.path(), |p| p);
    let other = dir.path().join("hw/othervendor/avr");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("boards.txt"),
        "myuno.name=My Uno-compatible board\n\
         myuno.build.mcu=atmega328p\nmyuno.build.f_cpu=16000000L\nmyuno.build.board=AVR_UNO\n\
         myuno.build.core=testvendor:arduino\nmyuno.build.variant=testvendor:standard\n\
         myuno.upload.tool=testvendor:avrdude\nmyuno.upload.protocol=arduino\nmyuno.upload.speed=115200\n\
         myuno.upload.maximum_size=32256\nmyuno.upload.maximum_data_size=2048\n",
    )
    .unwrap();
    let (code, err) = build(&other, "myuno");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("used 902 bytes from 32256"), "{err}");

    // Without the referenced package beside it: a clear error.
    std::fs::remove_dir_all(dir.path().join("hw/testvendor")).unwrap();
    let (code, err) = build(&other, "myuno");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("\"testvendor\"") && err.contains("not installed"),
        "{err}"
    );
}
