//! Arduino's SAMD core (Zero, MKR, Nano 33 IoT) from its own package, as
//! a new user gets it: `platform = <URL of a package_index.json>` served on
//! loopback by the test (scripts/pack-samd: the core 1.8.14, CMSIS,
//! CMSIS-Atmel, Debian's arm-none-eabi-gcc and bossac repacked as the
//! tools the core names). The core and each tool are one download for
//! concurrent builds, a wrong checksum is refused, every board builds
//! Blink and a sketch using Serial, Wire and SPI with arduino-builder's
//! flash and RAM (both run here, side by side; the one entry that is a
//! port, not a board, is named as such), a second build compiles nothing,
//! and `fbuild deploy` runs the core's bossac recipe after the 1200-baud
//! touch.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::http::{Fault, TestServer};
use common::*;
use fbuild_platforms::arduino::{ArduinoPlatform, Fqbn};

const BLINK: &str = "void setup() {\n  pinMode(LED_BUILTIN, OUTPUT);\n}\n\nvoid loop() {\n  digitalWrite(LED_BUILTIN, HIGH);\n  delay(1000);\n  digitalWrite(LED_BUILTIN, LOW);\n  delay(1000);\n}\n";

/// Serial, and the core's Wire and SPI libraries (found by the includes).
const BUSES: &str = "#include <SPI.h>\n#include <Wire.h>\n\nvoid setup() {\n  Serial.begin(115200);\n  Wire.begin();\n  SPI.begin();\n}\n\nvoid loop() {\n  Wire.beginTransmission(0x42);\n  Wire.write(SPI.transfer(0x55));\n  Wire.endTransmission();\n  Serial.println(millis());\n  delay(100);\n}\n";

/// scripts/pack-samd's mirror (made once per test run) copied with
/// `bad.json` (the same index with a wrong checksum for the core) and
/// `bad-tool.json` (a wrong one for the tool CMSIS).
fn mirror() -> tempfile::TempDir {
    let packed = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("samd-package-mirror");
    assert_ok(
        &Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pack-samd"))
            .arg(&packed)
            .output()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&packed).unwrap().flatten() {
        if entry.file_name() != ".lock" {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let text = std::fs::read_to_string(dir.path().join("package_index.json")).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let zeros = format!("SHA-256:{}", "0".repeat(64));
    let mut bad_tool = index.clone();
    index["packages"][0]["platforms"][0]["checksum"] = zeros.clone().into();
    std::fs::write(dir.path().join("bad.json"), index.to_string()).unwrap();
    for tool in bad_tool["packages"][0]["tools"].as_array_mut().unwrap() {
        if tool["name"] == "CMSIS" {
            tool["systems"][0]["checksum"] = zeros.clone().into();
        }
    }
    std::fs::write(dir.path().join("bad-tool.json"), bad_tool.to_string()).unwrap();
    dir
}

/// A project with `sketch` as `src/main.ino` and one environment per
/// board id (an FQBN, or a PlatformIO id).
fn project(index_url: &str, boards: &[&str], sketch: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.ino"), sketch).unwrap();
    let mut ini = String::new();
    for board in boards {
        let env = board.rsplit(':').next().unwrap();
        ini.push_str(&format!(
            "[env:{env}]\nplatform = {index_url}\nframework = arduino\nboard = {board}\n\n"
        ));
    }
    std::fs::write(dir.path().join("platformio.ini"), ini).unwrap();
    dir
}

fn build(home: &TestHome, dir: &Path, args: &[&str]) -> String {
    let out = home.build(dir, args);
    let said = said(&out);
    assert!(out.status.success(), "fbuild build {args:?}:\n{said}");
    said
}

#[test]
fn the_core_and_its_tools_install_once_for_concurrent_builds() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let url = format!("{}/package_index.json", server.url());
    // Downloads slowed (4 MiB/s: 6 MB in all) so that the eight installs
    // overlap.
    server.set_rate(4 << 20);
    // Eight projects at once (PlatformIO's board id), one compile each
    // beyond the core: the second and later wait for the first's installs.
    let projects: Vec<_> = (0..8).map(|_| project(&url, &["zeroUSB"], BLINK)).collect();
    all_succeed_at_once(projects.iter().map(|p| {
        let mut cmd = home.fbuild(&["build", p.path().to_str().unwrap()]);
        cmd.env("FBUILD_ZCCACHE_URL", mirror_url());
        cmd
    }));
    for archive in [
        "samd-1.8.14.tar.bz2",
        "CMSIS-4.5.0.tar.bz2",
        "CMSIS-Atmel-1.2.0.tar.bz2",
        "arm-none-eabi-gcc.tar.bz2",
        "bossac.tar.bz2",
    ] {
        assert_eq!(server.gets(&format!("/{archive}")), 1, "{archive}");
    }
    let out = projects[0].path().join(".fbuild/build/zeroUSB");
    for file in ["firmware.bin", "firmware.hex", "compile_commands.json"] {
        assert!(out.join(file).is_file(), "no {file}");
    }
    // The outputs are the core's recipes' (objcopy -O binary).
    let bin = std::fs::metadata(out.join("firmware.bin")).unwrap().len();
    assert!((8_000..64_000).contains(&bin), "firmware.bin: {bin} bytes");

    // Nothing changed: nothing compiled, nothing linked, no install line
    // (the installs are known: no lock taken), the index not read again.
    let index_gets = server.gets("/package_index.json");
    let again = build(&home, projects[0].path(), &["-v"]);
    assert!(again.contains("(0 compiled"), "{again}");
    assert!(
        !again.contains("fbuild: tool-") && !again.contains("fbuild: core-"),
        "{again}"
    );
    assert_eq!(server.gets("/package_index.json"), index_gets);
    // The index unreachable: a new coordinator builds from the copy kept.
    assert_ok(&home.run(&["daemon", "stop"]));
    server.set_fault("/package_index.json", Some(Fault::Status(404)));
    let offline = build(&home, projects[0].path(), &[]);
    assert!(offline.contains("(0 compiled"), "{offline}");
    assert_eq!(server.gets("/package_index.json"), index_gets + 1);
    server.set_fault("/package_index.json", None);

    // A wrong checksum: refused, named, and nothing installed from it.
    let other = TestHome::new();
    let bad = project(&format!("{}/bad.json", server.url()), &["zero"], BLINK);
    let out = other.build(bad.path(), &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("sha256") || said.contains("checksum"),
        "{said}"
    );
    assert!(
        !other
            .path()
            .join("packages/arduino/hardware/samd/1.8.14")
            .exists()
    );
    // A wrong checksum for one of the core's tools: refused, named (in a
    // home of its own: the core's failure above is remembered for a while).
    let other = TestHome::new();
    let bad = project(&format!("{}/bad-tool.json", server.url()), &["zero"], BLINK);
    let out = other.build(bad.path(), &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("CMSIS"), "{said}");
    assert!(
        said.contains("sha256") || said.contains("checksum"),
        "{said}"
    );
    assert!(!other.path().join("toolchains/CMSIS-4.5.0").exists());
    // The index corrected: the next build installs the tool (the failure
    // remembered was the wrong checksum's), then stops at the sketch's
    // own error.
    std::fs::copy(
        mirror.path().join("package_index.json"),
        mirror.path().join("bad-tool.json"),
    )
    .unwrap();
    std::fs::write(bad.path().join("src/main.ino"), "#error the sketch's own\n").unwrap();
    let out = other.build(bad.path(), &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("the sketch's own"), "{said}");
    assert!(
        other.path().join("toolchains/CMSIS-4.5.0").is_dir(),
        "{said}"
    );
}

/// (flash, RAM) from arduino-builder for `fqbn`, with the core and tools
/// fbuild installed in `home`, laid out as the Arduino IDE installs them.
fn arduino_builder_sizes(home: &Path, fqbn: &str, sketch: &Path, build: &Path) -> (u64, u64) {
    let root = home.with_file_name("arduino-builder");
    let packages = root.join("packages");
    if !packages.exists() {
        let hw = packages.join("arduino/hardware/samd");
        std::fs::create_dir_all(&hw).unwrap();
        std::os::unix::fs::symlink(
            home.join("packages/arduino/hardware/samd/1.8.14"),
            hw.join("1.8.14"),
        )
        .unwrap();
        for (name, version) in [
            ("arm-none-eabi-gcc", "7-2017q4"),
            ("bossac", "1.7.0-arduino3"),
            ("CMSIS", "4.5.0"),
            ("CMSIS-Atmel", "1.2.0"),
        ] {
            let dir = packages.join("arduino/tools").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(
                home.join("toolchains").join(format!("{name}-{version}")),
                dir.join(version),
            )
            .unwrap();
        }
    }
    let cache = root.join("core-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let mut setup: Vec<OsString> = Vec::new();
    for (flag, dir) in [
        ("-hardware", packages.as_path()),
        ("-hardware", Path::new("/usr/share/arduino-builder")),
        ("-tools", packages.as_path()),
        ("-tools", Path::new("/usr/share/arduino-builder")),
        // The core's objects, once per board for both sketches.
        ("-build-cache", cache.as_path()),
    ] {
        setup.extend([flag.into(), dir.as_os_str().to_owned()]);
    }
    common::arduino_builder::sizes(&setup, fqbn, sketch, build)
}

#[test]
fn every_board_of_the_core_matches_arduino_builder() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let url = format!("{}/package_index.json", server.url());
    let home = TestHome::new();
    // The first build installs the core; its boards come from its file.
    let first = project(&url, &["arduino:samd:arduino_zero_edbg"], BLINK);
    build(&home, first.path(), &[]);
    let core_dir = home.path().join("packages/arduino/hardware/samd/1.8.14");
    let core = ArduinoPlatform::load(&core_dir, "arduino", "samd").unwrap();
    let ids = core.board_ids();
    assert!(ids.len() >= 18, "{ids:?}");
    // Every SAMD id of the PlatformIO table names a board of this core.
    let table: std::collections::BTreeMap<String, String> =
        serde_json::from_str(include_str!("../platforms/data/pio-boards.json")).unwrap();
    let samd: Vec<_> = table
        .iter()
        .filter(|(_, f)| f.starts_with("arduino:samd:"))
        .collect();
    assert!(samd.len() >= 17, "{samd:?}");
    for (id, fqbn) in samd {
        core.resolve_board(&Fqbn::parse(fqbn).unwrap())
            .unwrap_or_else(|e| panic!("{id} → {fqbn}: {e}"));
    }
    let work = tempfile::tempdir().unwrap();
    let mut differ = Vec::new();
    let mut unbuildable = Vec::new();
    for (name, text) in [("blink", BLINK), ("buses", BUSES)] {
        let sketch = work.path().join(name).join(format!("{name}.ino"));
        std::fs::create_dir_all(sketch.parent().unwrap()).unwrap();
        std::fs::write(&sketch, text).unwrap();
        let fqbns: Vec<String> = ids.iter().map(|id| format!("arduino:samd:{id}")).collect();
        let boards: Vec<&str> = fqbns.iter().map(String::as_str).collect();
        let dir = project(&url, &boards, text);
        for id in &ids {
            let out = home.build(dir.path(), &["-e", id]);
            let said = said(&out);
            if !out.status.success() && said.contains("defines no build.core") {
                unbuildable.push(format!("{id} ({name})"));
                continue;
            }
            assert!(out.status.success(), "fbuild build -e {id}:\n{said}");
            let ours = (size_used(&said, "Flash:"), size_used(&said, "RAM:"));
            let fqbn = core
                .resolve_board(&Fqbn::parse(&format!("arduino:samd:{id}")).unwrap())
                .unwrap()
                .fqbn
                .to_string();
            let build_dir = work.path().join("ab").join(name).join(id);
            let theirs = arduino_builder_sizes(home.path(), &fqbn, &sketch, &build_dir);
            if ours != theirs {
                differ.push(format!(
                    "{name} for {fqbn}: fbuild flash/RAM {ours:?}, arduino-builder {theirs:?}"
                ));
            }
        }
    }
    assert!(differ.is_empty(), "sizes differ:\n{}", differ.join("\n"));
    // The Tian's MIPS console port is an entry with USB ids and nothing
    // to build with (`hide=true`): named as such, for both sketches.
    assert_eq!(unbuildable, ["tian_cons (blink)", "tian_cons (buses)"]);
}

/// The output speed of `path` (a pty's slave) as its last opener set it
/// (termios2: serialport sets any rate as `BOTHER` with the number).
fn speed_of(path: &str) -> u32 {
    let tty = std::fs::File::open(path).unwrap();
    // SAFETY: TCGETS2 fills a termios2 for a descriptor this test owns.
    unsafe {
        let mut t: libc::termios2 = std::mem::zeroed();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&tty);
        assert_eq!(libc::ioctl(fd, libc::TCGETS2, &mut t), 0);
        t.c_ospeed
    }
}

/// `fbuild deploy -e zeroUSB --port PORT` with bossac recording into `log`.
fn deploy(home: &TestHome, dir: &Path, port: &str, log: &Path) -> std::process::Output {
    let dir = dir.to_str().unwrap();
    home.fbuild(&["deploy", dir, "-e", "zeroUSB", "--port", port])
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .env("BOSSAC_LOG", log)
        .output()
        .unwrap()
}

/// `fbuild deploy` runs the core's bossac recipe: the 1200-bps touch on
/// the port (upload.use_1200bps_touch), a wait for the bootloader's port
/// (upload.wait_for_upload_port: none appears on a pty, and the old one is
/// still there, so it is used, as arduino-cli does), then bossac with the
/// recipe's arguments. bossac is a recorder here (no SAMD board on this
/// machine): the index's bossac archive is replaced by a script that
/// writes its command line to a file.
#[test]
fn deploy_touches_the_port_at_1200_baud_and_runs_the_cores_bossac_recipe() {
    let mirror = mirror();
    let stage = tempfile::tempdir().unwrap();
    let tool = stage.path().join("bossac");
    std::fs::create_dir_all(&tool).unwrap();
    std::fs::write(
        tool.join("bossac"),
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$BOSSAC_LOG\"\n",
    )
    .unwrap();
    assert_ok(
        &Command::new("chmod")
            .arg("755")
            .arg(tool.join("bossac"))
            .output()
            .unwrap(),
    );
    let archive = mirror.path().join("bossac.tar.bz2");
    assert_ok(
        &Command::new("tar")
            .arg("-cjf")
            .arg(&archive)
            .arg("-C")
            .arg(stage.path())
            .arg("bossac")
            .output()
            .unwrap(),
    );
    let index_path = mirror.path().join("package_index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    for tool in index["packages"][0]["tools"].as_array_mut().unwrap() {
        if tool["name"] == "bossac" {
            tool["systems"][0]["checksum"] = format!("SHA-256:{}", sha256(&archive)).into();
            tool["systems"][0]["size"] = std::fs::metadata(&archive)
                .unwrap()
                .len()
                .to_string()
                .into();
        }
    }
    std::fs::write(&index_path, index.to_string()).unwrap();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let dir = project(
        &format!("{}/package_index.json", server.url()),
        &["zeroUSB"],
        BLINK,
    );
    let (_master, port) = common::pty::pty_pair();
    assert_ne!(speed_of(&port), 1200);
    let log = stage.path().join("bossac.log");
    let out = deploy(&home, dir.path(), &port, &log);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_ok(&out);
    assert!(said.contains("1200-baud touch"), "{said}");
    assert_eq!(speed_of(&port), 1200, "no 1200-baud touch: {said}");
    let args =
        std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("bossac never ran ({e}): {said}"));
    let args: Vec<&str> = args.lines().collect();
    let bin = dir.path().join(".fbuild/build/zeroUSB/firmware.bin");
    // `{serial.port.file}`: the port without `/dev/`, as arduino-cli sets it.
    let port_name = port.strip_prefix("/dev/").unwrap();
    assert_eq!(
        args,
        [
            format!("--port={port_name}").as_str(),
            "-U",
            "true",
            "-i",
            "-e",
            "-w",
            "-v",
            bin.to_str().unwrap(),
            "-R"
        ],
        "{said}"
    );

    // A port that is not there: named, and bossac never runs.
    let _ = std::fs::remove_file(&log);
    let out = deploy(&home, dir.path(), "/dev/ttyACM99", &log);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("/dev/ttyACM99"), "{said}");
    assert!(!log.exists(), "bossac ran for a missing port");
}

/// `lib_deps` on SAMD are checked as on AVR: a library whose
/// `library.properties` says `architectures=samd`, or whose `library.json`
/// says `"platforms": ["atmelsam"]` (PlatformIO's name for a core given
/// by its index URL), is built; one for `avr` only is named and left out.
#[test]
fn libraries_are_matched_to_the_samd_core() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let libs = tempfile::tempdir().unwrap();
    let library = |name: &str, manifest: (&str, &str)| {
        let dir = libs.path().join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join(manifest.0), manifest.1).unwrap();
        std::fs::write(
            dir.join(format!("src/{name}.h")),
            format!("#pragma once\nint {name}_value();\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("src/{name}.cpp")),
            format!("#include \"{name}.h\"\nint {name}_value() {{ return 7; }}\n"),
        )
        .unwrap();
        dir
    };
    let props = |name: &str, arch: &str| {
        format!(
            "name={name}\nversion=1.0.0\nauthor=t\nmaintainer=t\nsentence=s\nparagraph=p\ncategory=Other\nurl=http://localhost/\narchitectures={arch}\n"
        )
    };
    let samd = library("ForSamd", ("library.properties", &props("ForSamd", "samd")));
    let pio = library(
        "ForPio",
        (
            "library.json",
            r#"{"name": "ForPio", "version": "1.0.0", "platforms": ["atmelsam"], "frameworks": ["arduino"]}"#,
        ),
    );
    let avr = library("ForAvr", ("library.properties", &props("ForAvr", "avr")));
    let dir = project(
        &format!("{}/package_index.json", server.url()),
        &["zeroUSB"],
        "#include <ForSamd.h>\n#include <ForPio.h>\nvoid setup() { Serial.begin(9600); }\nvoid loop() { Serial.println(ForSamd_value() + ForPio_value()); }\n",
    );
    let ini = dir.path().join("platformio.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(
        &ini,
        format!(
            "{text}lib_deps =\n    symlink://{}\n    symlink://{}\n    symlink://{}\n",
            samd.display(),
            pio.display(),
            avr.display()
        ),
    )
    .unwrap();
    let said = build(&home, dir.path(), &[]);
    assert!(
        said.contains("library ForAvr is not for this build"),
        "{said}"
    );
    let compdb = std::fs::read_to_string(
        dir.path()
            .join(".fbuild/build/zeroUSB/compile_commands.json"),
    )
    .unwrap();
    assert!(
        compdb.contains("ForSamd.cpp") && compdb.contains("ForPio.cpp"),
        "{compdb}"
    );
    assert!(!compdb.contains("ForAvr.cpp"), "{compdb}");
}
