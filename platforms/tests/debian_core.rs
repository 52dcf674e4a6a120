//! The Arduino platform reader against a real core nobody here wrote:
//! Debian's arduino-core-avr (installed by scripts/setup-deps).

use std::path::Path;

use fbuild_platforms::arduino::{ArduinoPlatform, BoardId, Fqbn, PlatformError, split_command};

const CORE: &str = "/usr/share/arduino/hardware/arduino/avr";

fn core() -> ArduinoPlatform {
    assert!(
        Path::new(CORE).join("platform.txt").is_file(),
        "{CORE} is missing: apt-get install arduino-core-avr (scripts/setup-deps)"
    );
    ArduinoPlatform::load(Path::new(CORE), "arduino", "avr").unwrap()
}

#[test]
fn every_board_resolves_with_its_menu_defaults() {
    let core = core();
    let ids = core.board_ids();
    assert!(ids.len() >= 25, "{ids:?}");
    for id in &ids {
        let board = core
            .resolve_board(&Fqbn::parse(&format!("arduino:avr:{id}")).unwrap())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        for key in ["name", "build.mcu", "build.core", "upload.tool"] {
            assert!(board.props.contains(key), "{id} has no {key}");
        }
        assert!(!board.props.keys().any(|k| k.starts_with("menu.")), "{id}");
    }
}

#[test]
fn menu_options_apply_and_platformio_ids_map_to_fqbns() {
    let core = core();
    let old = core
        .resolve_board(&Fqbn::parse("arduino:avr:nano:cpu=atmega328old").unwrap())
        .unwrap();
    assert_eq!(old.props.get("build.mcu"), Some("atmega328p"));
    assert_eq!(old.props.get("upload.speed"), Some("57600"));
    // The default option is the menu's first: atmega328 (new bootloader).
    let nano = core
        .resolve_board(&Fqbn::parse("arduino:avr:nano").unwrap())
        .unwrap();
    assert_eq!(nano.fqbn.to_string(), "arduino:avr:nano:cpu=atmega328");
    assert_eq!(nano.props.get("upload.speed"), Some("115200"));
    let mega = BoardId::parse("megaatmega2560").unwrap();
    let mega = core.resolve_board(mega.fqbn()).unwrap();
    assert_eq!(mega.props.get("build.mcu"), Some("atmega2560"));
    assert_eq!(mega.props.get("upload.protocol"), Some("wiring"));
    // Every AVR id of the PlatformIO table names a board and options that
    // exist (the SAMD ones: tests/samd.rs, against the installed core).
    let table: std::collections::BTreeMap<String, String> =
        serde_json::from_str(include_str!("../data/pio-boards.json")).unwrap();
    for (id, fqbn) in table
        .into_iter()
        .filter(|(_, f)| f.starts_with("arduino:avr:"))
    {
        let board = BoardId::parse(&id).unwrap();
        assert_eq!(board.fqbn().to_string(), fqbn);
        core.resolve_board(board.fqbn())
            .unwrap_or_else(|e| panic!("{id} → {fqbn}: {e}"));
    }
}

#[test]
fn bad_board_names_are_clear() {
    let core = core();
    let err = BoardId::parse("unoo").unwrap_err().to_string();
    assert!(
        err.contains("unknown board \"unoo\"") && err.contains("uno"),
        "{err}"
    );
    let err = core
        .resolve_board(&Fqbn::parse("arduino:avr:nano:cpu=atmega9000").unwrap())
        .unwrap_err();
    assert!(matches!(err, PlatformError::UnknownOption { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("cpu=atmega9000") && text.contains("atmega328old"),
        "{text}"
    );
    let err = core
        .resolve_board(&Fqbn::parse("arduino:avr:nano:speed=fast").unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown menu \"speed\"") && err.contains("cpu"),
        "{err}"
    );
    let err = core
        .resolve_board(&Fqbn::parse("arduino:avr:unoo").unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("arduino:avr:unoo") && err.contains("uno"),
        "{err}"
    );
}

#[test]
fn the_uno_compile_recipe_expands_to_a_real_command() {
    let core = core();
    let uno = core
        .resolve_board(&Fqbn::parse("arduino:avr:uno").unwrap())
        .unwrap();
    let mut props = core.platform.clone();
    props.merge(&uno.props);
    for (k, v) in [
        ("runtime.ide.version", "10607"),
        ("build.arch", "AVR"),
        ("includes", "\"-I/core\""),
        ("source_file", "/p/src/main.cpp"),
        ("object_file", "/p/out/main.cpp.o"),
    ] {
        props.set(k, v);
    }
    let line = props.expand_key("recipe.cpp.o.pattern").unwrap();
    let args = split_command(&line);
    assert_eq!(args[0], "/usr/bin/avr-g++");
    for want in [
        "-mmcu=atmega328p",
        "-DF_CPU=16000000L",
        "-DARDUINO_AVR_UNO",
        "-DARDUINO_ARCH_AVR",
        "-I/core",
        "/p/src/main.cpp",
    ] {
        assert!(
            args.iter().any(|a| a == want),
            "{want} missing from {args:?}"
        );
    }
    // Without the runtime properties, the error names what is missing.
    let err = core
        .platform
        .expand_key("recipe.cpp.o.pattern")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("platform.txt:") && err.contains("recipe.cpp.o.pattern"),
        "{err}"
    );
}

#[test]
fn compat_rules_apply_by_mcu_and_protocol() {
    let core = core();
    let props = |fqbn: &str| {
        let board = core.resolve_board(&Fqbn::parse(fqbn).unwrap()).unwrap();
        let mut p = core.platform.clone();
        p.merge(&board.props);
        core.apply_compat(&mut p);
        p
    };
    let mega = props("arduino:avr:mega:cpu=atmega2560");
    assert!(
        mega.get("compiler.c.elf.flags")
            .unwrap()
            .ends_with(",--relax")
    );
    // The Mega's `wiring` programmer rejects -xattempts (avrdude 7.1).
    assert!(
        !mega
            .get("tools.avrdude.upload.pattern")
            .unwrap()
            .contains("attempts")
    );
    let uno = props("arduino:avr:uno");
    assert!(!uno.get("compiler.c.elf.flags").unwrap().contains("relax"));
    assert!(
        uno.get("tools.avrdude.upload.pattern")
            .unwrap()
            .ends_with(" -xattempts=3")
    );
    assert_eq!(uno.get("emulator.tool"), Some("simavr"));
}

/// Every architecture of `data/pio-platforms.json` names a PlatformIO
/// platform, AVR's and SAMD's the ones PlatformIO uses.
#[test]
fn architectures_map_to_platformio_platforms() {
    use fbuild_platforms::arduino::pio_platform_of_arch;
    assert_eq!(pio_platform_of_arch("avr"), Some("atmelavr"));
    assert_eq!(pio_platform_of_arch("samd"), Some("atmelsam"));
    assert_eq!(pio_platform_of_arch("_comment"), None);
    assert_eq!(pio_platform_of_arch("z80"), None);
}
