//! simduino (simavr's Uno, in its bootloader) on its fixed pty
//! `/tmp/simavr-uart0`, for tests that flash a "board" over a serial port.
//! The path is fixed by simduino, so tests holding one take turns: an OS
//! file lock is held for the life of the `Simduino`. Killed when dropped.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{assert_ok, wait_for};

pub const PTY: &str = "/tmp/simavr-uart0";

pub struct Simduino {
    child: Child,
    _lock: std::fs::File,
    /// Its working folder: simduino keeps its flash in
    /// `simduino_atmega328p_flash.bin` there, so each one starts blank.
    _cwd: tempfile::TempDir,
}

impl Simduino {
    pub fn start() -> Simduino {
        let lock = std::fs::File::create("/tmp/simavr-uart0.fbuild-tests.lock").unwrap();
        // SAFETY: flock(2) on a file this process opened; released on close.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let build = Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/build-simduino"
        ))
        .arg(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simduino"))
        .output()
        .unwrap();
        assert_ok(&build);
        let pty = Path::new(PTY);
        let _ = std::fs::remove_file(pty);
        let cwd = tempfile::tempdir().unwrap();
        let child = Command::new(String::from_utf8_lossy(&build.stdout).trim())
            .current_dir(cwd.path())
            .arg("/usr/share/arduino/hardware/arduino/avr/bootloaders/atmega/ATmegaBOOT_168_atmega328.hex")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = Simduino {
            child,
            _lock: lock,
            _cwd: cwd,
        };
        assert!(
            wait_for(Duration::from_secs(10), || pty.exists()),
            "simduino made no pty"
        );
        sim
    }
}

impl Drop for Simduino {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
