//! PlatformIO's commands around a build: `boards` (a table, or JSON read
//! here by Python's json module), `project init`/`init` (a project that
//! builds; a second run adds a board and keeps the file), `device list`
//! (a header, or JSON).

mod common;

use common::*;

#[test]
fn boards_list_what_the_core_says() {
    let home = TestHome::new();
    let out = home.run(&["boards", "uno", "--json-output"]);
    assert_ok(&out);
    // From Debian's AVR core on this machine (nothing downloaded).
    let uno = python_reads(
        "import json,sys; b=[b for b in json.load(sys.stdin) if b['id']=='uno'][0]; \
         print(b['platform'], b['mcu'], b['fcpu'], b['rom'], b['ram'], b['fqbn'])",
        &out.stdout,
    );
    assert_eq!(
        uno,
        "atmelavr atmega328p 16000000 32256 2048 arduino:avr:uno"
    );
    let table = home.run(&["boards", "mega2560"]);
    assert_ok(&table);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Platform: atmelavr"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("mega2560 ") && l.contains("ATMEGA2560") && l.contains("16MHz")),
        "{text}"
    );
    assert!(!text.contains("uno "), "filtered: {text}");
}

#[test]
fn project_init_makes_a_project_that_builds_and_adds_boards() {
    let home = TestHome::new();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new project");
    let d = dir.to_str().unwrap();
    let out = home.run(&[
        "project",
        "init",
        "-d",
        d,
        "-b",
        "native",
        "-O",
        "build_flags = -DHELLO=1",
    ]);
    assert_ok(&out);
    for folder in ["src", "include", "lib", "test"] {
        assert!(dir.join(folder).is_dir(), "{folder}");
    }
    std::fs::write(
        dir.join("src/main.c"),
        "#if HELLO != 1\n#error\n#endif\nint main(void) { return 0; }\n",
    )
    .unwrap();
    assert_ok(&home.build_uncached(&dir, &[]));
    assert!(dir.join(".fbuild/build/native/program").is_file());

    // `init` again: the new board's section added, the rest kept (a user's
    // comment too), a board already there not added twice.
    let ini = dir.join("platformio.ini");
    let mut text = std::fs::read_to_string(&ini).unwrap();
    text.push_str("; mine\n");
    std::fs::write(&ini, &text).unwrap();
    let out = home.run(&["init", "-d", d, "-b", "uno", "-b", "native"]);
    assert_ok(&out);
    let after = std::fs::read_to_string(&ini).unwrap();
    assert!(after.starts_with(&text), "{after}");
    assert!(
        after.contains("[env:uno]\nplatform = atmelavr\nboard = uno\nframework = arduino\n"),
        "{after}"
    );
    assert_eq!(after.matches("[env:native]").count(), 1, "{after}");

    // An unknown board: named, with the close ones; the file unchanged.
    let out = home.run(&["init", "-d", d, "-b", "unoo"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown board \"unoo\"") && err.contains("uno"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&ini).unwrap(), after);
}

#[test]
fn device_list_has_a_header_and_json() {
    let home = TestHome::new();
    let out = home.run(&["device", "list", "--json-output"]);
    assert_ok(&out);
    // Whatever ports this machine has, each entry has PlatformIO's fields.
    let ok = python_reads(
        "import json,sys; d=json.load(sys.stdin); \
         print(isinstance(d, list) and all({'port','description','hwid'} <= set(p) for p in d))",
        &out.stdout,
    );
    assert_eq!(ok, "True");
    let out = home.run(&["device", "list"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Port") || text.trim() == "no serial ports",
        "{text}"
    );
}

#[test]
fn project_init_keeps_what_is_there() {
    let home = TestHome::new();
    let dir = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let real = shared.path().join("platformio.ini");
    let text = "[env:uno] ; my board\nplatform = atmelavr\nboard = uno\n\n[env:small]\nplatform = atmelavr\nboard = nano\n";
    std::fs::write(&real, text).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("platformio.ini")).unwrap();
    let d = dir.path().to_str().unwrap();
    // uno (its section has a comment) and nano (another section's board):
    // there already; mega added, through the link.
    let out = home.run(&[
        "init",
        "-d",
        d,
        "-b",
        "uno",
        "-b",
        "nano",
        "-b",
        "megaatmega2560",
    ]);
    assert_ok(&out);
    let after = std::fs::read_to_string(&real).unwrap();
    assert!(after.starts_with(text), "{after}");
    assert_eq!(after.matches("board = uno").count(), 1, "{after}");
    assert_eq!(after.matches("board = nano").count(), 1, "{after}");
    assert!(after.contains("[env:megaatmega2560]"), "{after}");
    assert!(
        std::fs::symlink_metadata(dir.path().join("platformio.ini"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
