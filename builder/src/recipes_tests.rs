//! The commands the recipes make, from a small platform.txt: where the
//! project's flags go, archive batching, the link's output, group and map,
//! objcopies and hooks in order, an undefined placeholder and a missing
//! recipe, the runtime properties the one function sets, warning levels.

use super::*;
use crate::runtime_props::IDE_VERSION;
use fbuild_platforms::arduino::{Fqbn, OS_SUFFIX};

/// A core's platform.txt, much like the Arduino AVR core's.
const PLATFORM: &str = r#"
compiler.path=/tc/
compiler.c.flags=-c -Os
compiler.cpp.flags=-c -Os -std=gnu++11
recipe.c.o.pattern="{compiler.path}gcc" {compiler.c.flags} {includes} "{source_file}" -o "{object_file}"
recipe.cpp.o.pattern="{compiler.path}g++" {compiler.cpp.flags} -DARDUINO_{build.board} {includes} "{source_file}" -o "{object_file}"
recipe.ar.pattern="{compiler.path}ar" rcs "{archive_file_path}" "{object_file}"
recipe.c.combine.pattern="{compiler.path}gcc" -Os -o "{build.path}/{build.project_name}.elf" {object_files} "{archive_file_path}" -lm
recipe.objcopy.eep.pattern="{compiler.path}objcopy" -j .eeprom "{build.path}/{build.project_name}.elf" "{build.path}/{build.project_name}.eep"
recipe.objcopy.hex.pattern="{compiler.path}objcopy" -R .eeprom "{build.path}/{build.project_name}.elf" "{build.path}/{build.project_name}.hex"
recipe.hooks.prebuild.10.pattern=echo ten
recipe.hooks.prebuild.2.pattern=echo two
recipe.hooks.prebuild.1.pattern=echo one
"#;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn props(extra: &str) -> Properties {
    let text = format!("{PLATFORM}{extra}");
    Properties::parse(&text, Path::new("/hw/v/avr/platform.txt")).unwrap()
}

/// The board `v:avr:uno` of `/hw/v/avr`, built in `/out` from `/proj`.
fn facts_for<'a>(fqbn: &'a Fqbn, core_platform_dir: Option<&'a Path>) -> RuntimeFacts<'a> {
    RuntimeFacts {
        platform_dir: Path::new("/hw/v/avr"),
        core_platform_dir,
        fqbn,
        out_dir: Path::new("/out"),
        source_dir: Some(Path::new("/proj")),
        compiler_dir: None,
        warnings: "none",
    }
}

/// `PLATFORM` with `extra` lines after it (a later key wins), set up for a
/// build of `v:avr:uno`.
fn recipes_with(extra: &str, flags: &[&str], unflags: &[&str], cxx: &[&str]) -> Recipes {
    let mut r = Recipes::new(
        props(extra),
        &strings(flags),
        &strings(unflags),
        strings(cxx),
    );
    let fqbn = Fqbn::parse("v:avr:uno").unwrap();
    r.set_runtime(&facts_for(&fqbn, None));
    r
}

fn recipes(extra: &str) -> Recipes {
    recipes_with(extra, &[], &[], &[])
}

fn args(cmd: &Command) -> Vec<String> {
    cmd.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn project_flags_go_after_the_recipes_and_cxx_extras_only_on_cxx() {
    let r = recipes_with("", &["-DX=1", "-Wall"], &["-Os"], &["-DQUIRK"]);
    let inc = [PathBuf::from("/inc")];
    let c = r
        .compile(Lang::C, Path::new("/s/a.c"), Path::new("/o/a.o"), &inc)
        .unwrap();
    assert_eq!(c.program, Path::new("/tc/gcc"));
    assert_eq!(
        args(&c),
        ["-c", "-I/inc", "-DX=1", "-Wall", "/s/a.c", "-o", "/o/a.o"]
    );
    let cxx = r
        .compile(Lang::Cxx, Path::new("/s/b.cpp"), Path::new("/o/b.o"), &inc)
        .unwrap();
    assert_eq!(
        args(&cxx),
        [
            "-c",
            "-std=gnu++11",
            "-DARDUINO_AVR_UNO",
            "-I/inc",
            "-DX=1",
            "-Wall",
            "-DQUIRK",
            "/s/b.cpp",
            "-o",
            "/o/b.o"
        ]
    );
    assert!(
        cxx.recipe
            .contains("recipe.cpp.o.pattern (/hw/v/avr/platform.txt:")
    );
}

#[test]
fn an_archive_takes_all_objects_at_once_when_the_recipe_allows() {
    let objects = [PathBuf::from("/o/a.o"), PathBuf::from("/o/b.o")];
    let r = recipes("");
    let core = r.core_archive().unwrap();
    assert_eq!(
        (core.file.as_str(), core.path.as_path()),
        ("core.a", Path::new("/out/core.a"))
    );
    let batched = r.archive(&objects, &core).unwrap();
    assert_eq!(batched.len(), 1);
    assert_eq!(
        args(&batched[0]),
        ["rcs", "/out/core.a", "/o/a.o", "/o/b.o"]
    );
    // `{object_file}` inside an argument: one call per object.
    let r = recipes("recipe.ar.pattern=ar rcs \"{archive_file_path}\" --add={object_file}\n");
    let lib = r.library_archive("Wire").unwrap();
    assert_eq!(lib.path, Path::new("/out/libWire.a"));
    let each = r.archive(&objects, &lib).unwrap();
    let each: Vec<Vec<String>> = each.iter().map(args).collect();
    assert_eq!(
        each,
        [
            ["rcs", "/out/libWire.a", "--add=/o/a.o"],
            ["rcs", "/out/libWire.a", "--add=/o/b.o"]
        ]
    );
}

#[test]
fn the_link_writes_the_elf_or_the_cores_output_and_the_map_from_data() {
    let objects = [OsString::from("/o/a.o"), OsString::from("/o/lib x.a")];
    let map = Path::new("/out/firmware.map");
    let (cmd, output) = recipes("").link(&objects, map).unwrap();
    assert_eq!(output, Path::new("/out/firmware.elf"));
    let line = [
        "-Os",
        "-o",
        "/out/firmware.elf",
        "/o/a.o",
        "/o/lib x.a",
        "/out/core.a",
        "-lm",
    ];
    assert_eq!(args(&cmd), line, "no fbuild.link.map: no map arguments");

    let r = recipes(
        "fbuild.link.map=-Wl,-Map,{fbuild.link.map_file}\nfbuild.link.output={build.path}/program\n",
    );
    let (cmd, output) = r.link(&objects, map).unwrap();
    assert_eq!(output, Path::new("/out/program"));
    assert_eq!(args(&cmd)[..7], line);
    assert_eq!(args(&cmd)[7..], ["-Wl,-Map,/out/firmware.map"]);

    let (cmd, _) = recipes("fbuild.link.map=\n").link(&objects, map).unwrap();
    assert_eq!(args(&cmd), line, "an empty fbuild.link.map: no map");
}

#[test]
fn libraries_are_grouped_unless_the_recipe_groups_or_the_linker_needs_none() {
    let gnu = "fbuild.link.group.start=-Wl,--start-group\nfbuild.link.group.end=-Wl,--end-group\n";
    assert_eq!(
        recipes(gnu).link_group(),
        Some(("-Wl,--start-group".into(), "-Wl,--end-group".into()))
    );
    let macosx = "fbuild.link.group.start=\nfbuild.link.group.end=\n";
    assert_eq!(recipes(macosx).link_group(), None);
    let grouping = format!(
        "{gnu}recipe.c.combine.pattern=gcc -Wl,--start-group {{object_files}} -Wl,--end-group\n"
    );
    assert_eq!(recipes(&grouping).link_group(), None);
}

#[test]
fn the_compat_rules_give_every_core_gnu_lds_map_and_group_and_the_quirk_flags() {
    let platform = ArduinoPlatform {
        dir: PathBuf::from("/hw/v/avr"),
        vendor: "v".into(),
        arch: "avr".into(),
        platform: props(""),
        boards: Properties::default(),
        programmers: Properties::default(),
    };
    let mut p = platform.platform.clone();
    platform.apply_compat(&mut p);
    let mut r = Recipes::new(p, &[], &[], Vec::new());
    let fqbn = Fqbn::parse("v:avr:uno").unwrap();
    r.set_runtime(&facts_for(&fqbn, None));
    let (cmd, _) = r.link(&[], Path::new("/out/firmware.map")).unwrap();
    assert_eq!(args(&cmd).last().unwrap(), "-Wl,-Map,/out/firmware.map");
    assert_eq!(
        r.link_group(),
        Some(("-Wl,--start-group".into(), "-Wl,--end-group".into()))
    );
    assert_eq!(
        ArduinoPlatform::toolchain_cxx_flags("cxx_needs_decimal_dig"),
        ["-DDECIMAL_DIG=__DECIMAL_DIG__"]
    );
    assert!(ArduinoPlatform::toolchain_cxx_flags("no_such_probe").is_empty());
}

#[test]
fn objcopies_run_in_the_cores_order_with_their_outputs() {
    let outputs: Vec<PathBuf> = recipes("")
        .objcopies()
        .unwrap()
        .into_iter()
        .map(|(_, out)| out)
        .collect();
    assert_eq!(
        outputs,
        [
            Path::new("/out/firmware.eep"),
            Path::new("/out/firmware.hex")
        ]
    );
}

#[test]
fn hooks_run_in_numeric_order() {
    let hooks = recipes("").hooks("prebuild").unwrap();
    let said: Vec<Vec<String>> = hooks.iter().map(args).collect();
    assert_eq!(said, [["one"], ["two"], ["ten"]]);
    assert!(recipes("").hooks("linking.prelink").unwrap().is_empty());
}

#[test]
fn a_missing_recipe_is_named_and_an_undefined_placeholder_kept() {
    let r = recipes("");
    let err = r
        .compile(Lang::Asm, Path::new("/s/a.S"), Path::new("/o/a.o"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`recipe.S.o.pattern`"), "{err}");
    assert!(r.size().unwrap().is_none());
    let r = recipes("compiler.c.flags=-c {compiler.c.flagz}\n");
    let c = r
        .compile(Lang::C, Path::new("/s/a.c"), Path::new("/o/a.o"), &[])
        .unwrap();
    assert_eq!(
        args(&c),
        ["-c", "{compiler.c.flagz}", "/s/a.c", "-o", "/o/a.o"]
    );
}

#[test]
fn the_runtime_properties_come_from_one_function() {
    let r = recipes("");
    let get = |k: &str| r.get(k).unwrap_or_else(|| panic!("{k} is not set"));
    let path = |k: &str| r.properties().get_path(k).unwrap();
    assert!(["linux", "macosx", "windows"].contains(&get("runtime.os")));
    assert_eq!(get("runtime.os"), OS_SUFFIX);
    assert_eq!(get("build.fqbn"), "v:avr:uno");
    assert_eq!(get("build.board"), "AVR_UNO");
    assert_eq!(get("build.arch"), "AVR");
    assert_eq!(get("runtime.ide.version"), IDE_VERSION);
    assert_eq!(get("ide_version"), IDE_VERSION);
    assert_eq!(get("software"), "ARDUINO");
    assert_eq!(get("build.library_discovery_phase"), "0");
    assert_eq!(get("build.project_name"), "firmware");
    assert_eq!(get("build.extra_flags"), "");
    assert_eq!(
        get("compiler.path"),
        "/tc/",
        "the core's own without a toolchain"
    );
    let utc: u64 = get("extra.time.utc").parse().unwrap();
    assert!(utc > 0 && get("extra.time.local") == utc.to_string());
    assert_eq!((get("extra.time.zone"), get("extra.time.dst")), ("0", "0"));
    assert!(r.get("runtime.ide.path").is_some());
    for (key, want) in [
        ("build.path", "/out"),
        ("archive_file_path", "/out/core.a"),
        ("build.source.path", "/proj"),
        ("sketch_path", "/proj"),
        ("runtime.platform.path", "/hw/v/avr"),
        ("runtime.hardware.path", "/hw/v"),
        ("build.board.platform.path", "/hw/v/avr"),
        ("build.core.platform.path", "/hw/v/avr"),
        ("build.system.path", "/hw/v/avr/system"),
    ] {
        assert_eq!(path(key), Path::new(want), "{key}");
    }
}

#[test]
fn a_referenced_core_and_the_boards_own_values_win_where_the_tools_say() {
    let extra = "build.board=MY_UNO\nrecipe.x=\"{runtime.platform.path}\"\n";
    let mut r = Recipes::new(props(extra), &[], &[], Vec::new());
    let fqbn = Fqbn::parse("v:avr:uno:cpu=fast").unwrap();
    let compiler = Path::new("/managed/bin");
    r.set_runtime(&RuntimeFacts {
        compiler_dir: Some(compiler),
        ..facts_for(&fqbn, Some(Path::new("/hw/other/avr")))
    });
    assert_eq!(r.get("build.board"), Some("MY_UNO"));
    assert_eq!(r.get("build.fqbn"), Some("v:avr:uno:cpu=fast"));
    let path = |k: &str| r.properties().get_path(k).unwrap();
    assert_eq!(path("build.core.platform.path"), Path::new("/hw/other/avr"));
    assert_eq!(path("build.system.path"), Path::new("/hw/other/avr/system"));
    assert_eq!(path("runtime.platform.path"), Path::new("/hw/v/avr"));
    assert_eq!(path("compiler.path"), Path::new("/managed/bin/"));

    let flag = "runtime.use_core_platform_path_for_runtime_platform_path=true\n";
    let mut r = Recipes::new(props(flag), &[], &[], Vec::new());
    r.set_runtime(&facts_for(&fqbn, Some(Path::new("/hw/other/avr"))));
    let path = |k: &str| r.properties().get_path(k).unwrap();
    assert_eq!(path("runtime.platform.path"), Path::new("/hw/other/avr"));
    assert_eq!(path("runtime.hardware.path"), Path::new("/hw/other"));
}

#[test]
fn the_build_time_is_the_build_folders_until_it_is_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let fqbn = Fqbn::parse("arduino:avr:uno").unwrap();
    let time = |out: &Path| {
        let mut r = Recipes::new(Properties::default(), &[], &[], Vec::new());
        let mut facts = facts_for(&fqbn, None);
        facts.out_dir = out;
        r.set_runtime(&facts);
        r.properties().get("extra.time.utc").unwrap().to_string()
    };
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("fbuild-time"), "1700000000").unwrap();
    assert_eq!(time(&out), "1700000000", "the folder's time, not now");
    std::fs::remove_dir_all(&out).unwrap();
    let fresh = time(&out);
    assert_ne!(fresh, "1700000000");
    assert_eq!(time(&out), fresh, "kept for the next build");
}

#[test]
fn the_warning_level_picks_the_cores_flags() {
    let levels = "compiler.warning_flags=-w\ncompiler.warning_flags.none=-w\n\
                  compiler.warning_flags.more=-Wall\ncompiler.warning_flags.all=-Wall -Wextra\n";
    let fqbn = Fqbn::parse("v:avr:uno").unwrap();
    for (level, want) in [
        ("none", Some("-w")),
        ("more", Some("-Wall")),
        ("all", Some("-Wall -Wextra")),
        // A level the core does not name leaves its value.
        ("default", Some("-w")),
    ] {
        let mut r = Recipes::new(props(levels), &[], &[], Vec::new());
        r.set_runtime(&RuntimeFacts {
            warnings: level,
            ..facts_for(&fqbn, None)
        });
        assert_eq!(r.get("compiler.warning_flags"), want, "{level}");
    }
    // A core without levels keeps none.
    let mut r = Recipes::new(props(""), &[], &[], Vec::new());
    r.set_runtime(&RuntimeFacts {
        warnings: "all",
        ..facts_for(&fqbn, None)
    });
    assert_eq!(r.get("compiler.warning_flags"), None);
}
