//! The property files' reading, expansion and splitting: OS overrides,
//! placeholders (undefined, cyclic, kept in a recipe), paths held as
//! markers.

use super::*;

fn parse(text: &str) -> Properties {
    Properties::parse(text, Path::new("/x/platform.txt")).unwrap()
}

#[test]
fn os_keys_override_and_later_wins() {
    let p = parse("# c\na=1\nb=plain\nb.linux=lin\nb.windows=win\na = 2 \n");
    assert_eq!(p.get("a"), Some("2"));
    assert_eq!(
        p.get("b"),
        Some(if cfg!(target_os = "linux") {
            "lin"
        } else {
            "plain"
        })
    );
    assert!(!p.contains("b.windows"));
    assert_eq!(p.keys().collect::<Vec<_>>(), vec!["a", "b"]);
}

#[test]
fn placeholders_expand_recursively_and_undefined_ones_are_named() {
    let p = parse(
        "path=/usr/bin/\ncmd=avr-gcc\nrecipe=\"{path}{cmd}\" -c {flags}\nflags=-Os {more}\nmore=-g\nbad=x {nope} y\n",
    );
    assert_eq!(
        p.expand_key("recipe").unwrap(),
        "\"/usr/bin/avr-gcc\" -c -Os -g"
    );
    let err = p.expand_key("bad").unwrap_err().to_string();
    assert!(
        err.contains("{nope}") && err.contains("bad") && err.contains("/x/platform.txt:6"),
        "{err}"
    );
    let cyc = parse("a={b}\nb={a}\n");
    assert!(
        cyc.expand_key("a")
            .unwrap_err()
            .to_string()
            .contains("cycle")
    );
    assert_eq!(
        p.expand("{ not a placeholder } {cmd}", "t").unwrap(),
        "{ not a placeholder } avr-gcc"
    );
}

#[test]
fn a_recipe_keeps_an_undefined_placeholder_as_written_like_arduino_cli() {
    let p = parse("flags=-Os {nope}\nrecipe=cc {flags} -DX={x} {source_file}\nloop={loop}\n");
    let c = p
        .recipe_command("recipe", &[("source_file", "a.c".into())])
        .unwrap();
    assert_eq!(c.args, ["cc", "-Os", "{nope}", "-DX={x}", "a.c"]);
    let named: Vec<String> = c.undefined.iter().map(|e| e.to_string()).collect();
    assert!(
        named[0].contains("/x/platform.txt:1: `flags` uses {nope}")
            && named[1].contains("platform.txt:2: `recipe` uses {x}"),
        "{named:?}"
    );
    // A command run as written (an upload) refuses it instead.
    assert!(matches!(
        p.command("recipe", &[("source_file", "a.c".into())]),
        Err(PlatformError::Undefined { .. })
    ));
    assert!(matches!(
        p.command("loop", &[]),
        Err(PlatformError::Cycle { .. })
    ));
    assert!(matches!(
        p.command("absent", &[]),
        Err(PlatformError::Missing { .. })
    ));
    assert!(p.expand_key("recipe").is_err());
}

#[test]
fn subtree_and_first_level_keep_order() {
    let p = parse(
        "uno.name=Uno\nuno.build.mcu=m328\nnano.name=Nano\nnano.menu.cpu.atmega328=A\nnano.menu.cpu.atmega168=B\n",
    );
    assert_eq!(p.first_level(), vec!["uno", "nano"]);
    let nano = p.subtree("nano");
    assert_eq!(
        nano.subtree("menu.cpu").first_level(),
        vec!["atmega328", "atmega168"]
    );
    assert_eq!(nano.source("name").unwrap().line, 3);
}

#[test]
fn commands_split_like_the_arduino_tools() {
    assert_eq!(
        split_command(r#""/usr/bin/avr-gcc" -c '-DX="a b"' "" -o "/t/o.o""#),
        vec!["/usr/bin/avr-gcc", "-c", "-DX=\"a b\"", "", "-o", "/t/o.o"]
    );
}

#[test]
fn a_line_without_equals_is_an_error_with_its_place() {
    let err = Properties::parse("a=1\nnonsense\n", Path::new("/b/boards.txt")).unwrap_err();
    assert!(err.to_string().contains("/b/boards.txt:2"), "{err}");
}

#[cfg(unix)] // non-UTF-8 names are a Unix fact
#[test]
fn paths_pass_through_expansion_and_splitting_untouched() {
    use std::os::unix::ffi::OsStrExt;
    let mut p = parse("recipe=\"{compiler}\" -o \"{build.path}/out.o\" {includes}\ncompiler=cc\n");
    let odd = OsStr::from_bytes(b"/tmp/a \"b\" {build.path} \xff");
    p.set_path("build.path", Path::new(odd));
    let includes = format!("\"-I{}\"", path_marker(OsStr::new("/x y")));
    let args = p.command("recipe", &[("includes", includes)]).unwrap();
    let mut out = odd.to_os_string();
    out.push("/out.o");
    assert_eq!(
        args,
        vec![OsString::from("cc"), "-o".into(), out, "-I/x y".into()]
    );
    assert_eq!(p.get_path("build.path").unwrap().as_os_str(), odd);
}

#[test]
fn a_long_chain_is_no_cycle_and_a_loop_is() {
    let mut text: String = (0..40).map(|i| format!("k{i}={{k{}}}\n", i + 1)).collect();
    text.push_str("k40=end\nx={y}\ny={x}\n");
    let p = parse(&text);
    assert_eq!(p.expand_key("k0").unwrap(), "end");
    assert!(matches!(
        p.expand_key("x"),
        Err(PlatformError::Cycle { .. })
    ));
}
