//! arduino-builder (Debian's 1.3.25), the reference the size tests compare
//! fbuild with: a sketch built for an FQBN, its flash and RAM as it
//! reports them.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// (flash, RAM) of `sketch` built by arduino-builder for `fqbn` into
/// `build`; `setup` are its `-hardware`, `-tools`, `-prefs`… arguments.
pub fn sizes(setup: &[OsString], fqbn: &str, sketch: &Path, build: &Path) -> (u64, u64) {
    std::fs::create_dir_all(build).unwrap();
    let out = Command::new("arduino-builder")
        .arg("-compile")
        .args(setup)
        .args(["-fqbn", fqbn, "-build-path"])
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
