//! A second architecture as data only: examples/cortex-m-hello carries its
//! own core in the Arduino format (an ARM Cortex-M3, Debian's
//! gcc-arm-none-eabi, no libc) and names qemu as its emulator; no Rust
//! knows it. `fbuild deploy --emulator` runs it in qemu-system-arm.

mod common;

use std::process::Output;

use common::*;

fn deploy(home: &TestHome, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["deploy", dir.to_str().unwrap(), "--emulator", "--timeout"];
    all.extend_from_slice(args);
    home.run(&all)
}

#[test]
fn cortex_m_hello_runs_in_qemu_from_its_own_core() {
    let home = TestHome::new();
    let dir = example("cortex-m-hello");
    let ok = deploy(
        &home,
        dir.path(),
        &["20", "--halt-on-success", "hello from cortex-m"],
    );
    // Exit 0: it halted on the line, not at the timeout (124).
    assert_ok(&ok);
    assert!(String::from_utf8_lossy(&ok.stdout).contains("hello from cortex-m"));
    let elf = std::fs::read(dir.path().join(".fbuild/build/lm3s6965/firmware.elf")).unwrap();
    // ELF, 32-bit, e_machine 40 = EM_ARM.
    assert_eq!((&elf[..4], elf[4]), (&b"\x7fELF"[..], 1));
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 40);

    // A line that never comes: the timeout's 124 (the firmware idles on).
    let never = deploy(
        &home,
        dir.path(),
        &["3", "--skip-build", "--halt-on-success", "goodbye"],
    );
    assert_eq!(
        never.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&never.stderr)
    );
    // An error pattern: 1.
    let error = deploy(
        &home,
        dir.path(),
        &[
            "20",
            "--skip-build",
            "--halt-on-error",
            "hello",
            "--halt-on-success",
            "nothing",
        ],
    );
    assert_eq!(
        error.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&error.stderr)
    );
    // Every qemu this test started is gone.
    let dir_text = dir.path().display().to_string();
    wait_until("every qemu of this test to be gone", || {
        fbuild_core::procs::pids_where(|args| {
            args.iter()
                .any(|a| String::from_utf8_lossy(a).contains(&dir_text))
        })
        .is_empty()
    });
}
