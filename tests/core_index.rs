//! `platform = <URL of a package_index.json>`: the core and its tools come
//! from an Arduino package index through the coordinator's install gate.
//! The index is served on loopback by the test: Debian's Arduino AVR core
//! repacked (its platform.txt pointing at `{runtime.tools.avr-gcc.path}`,
//! as Arduino's own cores do) and Debian's avr toolchain repacked, both by
//! scripts/pack-avr-toolchain.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::http::TestServer;
use common::*;
use fbuild_platforms::arduino::index::host_names;

const CORE: &str = "/usr/share/arduino/hardware/arduino/avr";

/// A mirror with `index.json` (scripts/pack-avr-toolchain's index, plus a
/// download for another host that must never be fetched), `bad.json` (a
/// wrong core checksum), `empty.json`, the core and the toolchain archives,
/// and `avr-core-system.tar.gz` (the core as Debian has it).
fn mirror() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let packed = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("avr-package-mirror");
    assert_ok(
        &Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/pack-avr-toolchain"
        ))
        .arg(&packed)
        .output()
        .unwrap(),
    );
    for file in ["avr-gcc.tar.gz", "avr-core.tar.gz"] {
        std::fs::copy(packed.join(file), dir.path().join(file)).unwrap();
    }
    let text = std::fs::read_to_string(packed.join("package_index.json")).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let systems = index["packages"][0]["tools"][0]["systems"]
        .as_array_mut()
        .unwrap();
    assert!(host_names().contains(&systems[0]["host"].as_str().unwrap()));
    systems.insert(
        0,
        serde_json::json!({"host": "i686-mingw32", "url": "nope.zip", "checksum": "SHA-256:00"}),
    );
    std::fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
    index["packages"][0]["platforms"][0]["checksum"] = format!("SHA-256:{}", "0".repeat(64)).into();
    std::fs::write(dir.path().join("bad.json"), index.to_string()).unwrap();
    std::fs::write(dir.path().join("empty.json"), r#"{"packages": []}"#).unwrap();

    let stage = tempfile::tempdir().unwrap();
    // The same core as it is (compiler.path=/usr/bin/), for
    // `platform = <archive URL>#sha256=…`.
    let system = stage.path().join("system/avr");
    std::fs::create_dir_all(&system).unwrap();
    for sub in ["cores", "variants", "libraries"] {
        std::os::unix::fs::symlink(Path::new(CORE).join(sub), system.join(sub)).unwrap();
    }
    std::fs::copy(
        Path::new(CORE).join("boards.txt"),
        system.join("boards.txt"),
    )
    .unwrap();
    let original = std::fs::read_to_string(Path::new(CORE).join("platform.txt")).unwrap();
    std::fs::write(
        system.join("platform.txt"),
        original + "\ncompiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__\n",
    )
    .unwrap();
    assert_ok(
        &Command::new("tar")
            .args(["-chzf"])
            .arg(dir.path().join("avr-core-system.tar.gz"))
            .arg("-C")
            .arg(stage.path().join("system"))
            .arg("avr")
            .output()
            .unwrap(),
    );
    dir
}

fn project(index_url: &str) -> tempfile::TempDir {
    let dir = example("blink");
    std::fs::write(
        dir.path().join("platformio.ini"),
        format!("[env:uno]\nplatform = {index_url}\nframework = arduino\nboard = uno\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_core_from_a_package_index_installs_once_for_concurrent_builds() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let url = format!("{}/index.json", server.url());
    let (a, b) = (project(&url), project(&url));
    let spawn = |dir: &Path| {
        home.fbuild(&["build", dir.to_str().unwrap()])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(a.path()), spawn(b.path()));
    for child in [first, second] {
        assert_ok(&child.wait_with_output().unwrap());
    }
    assert_eq!(
        server.gets("/avr-core.tar.gz"),
        1,
        "the core was downloaded twice"
    );
    assert_eq!(
        server.gets("/avr-gcc.tar.gz"),
        1,
        "the toolchain was downloaded twice"
    );
    assert_eq!(
        server.gets("/nope.zip"),
        0,
        "another host's tool was fetched"
    );
    let packages = home.path().join("packages/arduino");
    assert!(packages.join("hardware/avr/1.8.7/platform.txt").is_file());
    let gcc = home.path().join("toolchains/avr-gcc-5.4.0/bin/avr-g++");
    assert!(gcc.is_file());
    // The compiles ran the installed toolchain, as the core's recipes say.
    let compdb =
        std::fs::read_to_string(a.path().join(".fbuild/build/uno/compile_commands.json")).unwrap();
    assert!(compdb.contains(&gcc.display().to_string()), "{compdb}");
    assert!(a.path().join(".fbuild/build/uno/firmware.hex").is_file());
}

#[test]
fn a_bad_core_checksum_is_refused() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let dir = project(&format!("{}/bad.json", server.url()));
    let out = home
        .fbuild(&["build", dir.path().to_str().unwrap()])
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        !home
            .path()
            .join("packages/arduino/hardware/avr/1.8.7")
            .exists()
    );
}

/// `platform = vendor:arch@version` with `platform_index_urls`: the indexes
/// are searched in order (one without the core passes to the next); a
/// version no index has is an error that lists what there is.
#[test]
fn a_named_platform_is_found_in_the_listed_indexes() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let home = TestHome::new();
    let dir = example("blink");
    let ini = |platform: &str| {
        std::fs::write(
            dir.path().join("platformio.ini"),
            format!(
                "[env:uno]\nplatform = {platform}\nframework = arduino\nboard = uno\n\
                 platform_index_urls = {url}/empty.json, {url}/index.json\n",
                url = server.url()
            ),
        )
        .unwrap();
    };
    let build = || {
        home.fbuild(&["build", dir.path().to_str().unwrap()])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .output()
            .unwrap()
    };
    ini("arduino:avr@1.8.7");
    assert_ok(&build());
    assert_eq!(server.gets("/empty.json"), 1);
    assert!(
        home.path()
            .join("packages/arduino/hardware/avr/1.8.7/platform.txt")
            .is_file()
    );
    ini("arduino:avr@9.9.9");
    let out = build();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no platform arduino:avr 9.9.9") && err.contains("arduino:avr 1.8.7"),
        "{err}"
    );
}

/// `platform = <URL of a core archive>#sha256=<hex>`: installed once,
/// verified; a wrong sha256 is refused and no sha256 at all is an error.
#[test]
fn a_core_archive_url_with_its_sha256() {
    let mirror = mirror();
    let server = TestServer::serve(mirror.path());
    let sha = sha256(&mirror.path().join("avr-core-system.tar.gz"));
    let home = TestHome::new();
    let dir = example("blink");
    let build = |platform: &str| {
        std::fs::write(
            dir.path().join("platformio.ini"),
            format!("[env:uno]\nplatform = {platform}\nframework = arduino\nboard = uno\n"),
        )
        .unwrap();
        home.fbuild(&["build", dir.path().to_str().unwrap()])
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .output()
            .unwrap()
    };
    let url = format!("{}/avr-core-system.tar.gz", server.url());
    let out = build(&format!("{url}#sha256={sha}"));
    assert_ok(&out);
    assert!(said(&out).contains("used 902 bytes"));
    assert_ok(&build(&format!("{url}#sha256={sha}")));
    assert_eq!(server.gets("/avr-core-system.tar.gz"), 1);

    let wrong = build(&format!("{url}#sha256={}", "1".repeat(64)));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("checksum mismatch"));
    let unverified = build(&url);
    assert_eq!(unverified.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unverified.stderr).contains("#sha256="));
}
