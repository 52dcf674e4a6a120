//! Target resolution where no coordinator is needed: cores in folders
//! (boards by id or FQBN, overrides, a core referenced from a sibling
//! package) and every `platform =` that is refused before anything is
//! installed. The client given is never asked (its home has no
//! coordinator, and none is started).

use std::path::Path;

use super::*;
use crate::project::Project;

/// A core at `hw/vendor/arch` with one board `myboard` and the given
/// extra boards.txt lines.
fn core(hw: &Path, vendor: &str, arch: &str, boards: &str) {
    let dir = hw.join(vendor).join(arch);
    std::fs::create_dir_all(dir.join("cores/arduino")).unwrap();
    std::fs::create_dir_all(dir.join("variants/standard")).unwrap();
    std::fs::write(
        dir.join("platform.txt"),
        "name=Tiny\ncompiler.path=/opt/tiny/bin/\n\
         recipe.c.o.pattern=\"{compiler.path}tcc\" -mmcu={build.mcu} {includes} \"{source_file}\" -o \"{object_file}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("boards.txt"),
        format!(
            "myboard.name=My Board\nmyboard.build.mcu=m1\nmyboard.build.core=arduino\n\
             myboard.build.variant=standard\n{boards}"
        ),
    )
    .unwrap();
}

/// The one environment of a project whose `[env:e]` has `lines`.
fn env(root: &Path, lines: &str) -> EnvConfig {
    std::fs::write(root.join("platformio.ini"), format!("[env:e]\n{lines}\n")).unwrap();
    Project::load(root).unwrap().envs.remove("e").unwrap()
}

fn client(root: &Path) -> Client {
    let home = root.join("home");
    let settings =
        fbuild_core::Settings::from_vars(|k| (k == "FBUILD_HOME").then(|| home.clone().into()))
            .unwrap();
    Client::new(settings)
}

async fn target(root: &Path, lines: &str) -> Result<Target> {
    let env = env(root, lines);
    resolve(&client(root), &env, root, &root.join("out")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_in_a_folder_builds_its_board_with_its_own_compiler() {
    let dir = tempfile::tempdir().unwrap();
    core(&dir.path().join("hw"), "tiny", "avr", "");
    let t = target(
        dir.path(),
        "platform = hw/tiny/avr\nboard = myboard\nboard_build.mcu = m2",
    )
    .await
    .unwrap();
    assert_eq!(t.board_name, "My Board");
    let props = t.recipes.properties();
    assert_eq!(props.get("build.mcu"), Some("m2"), "board_build.* wins");
    assert_eq!(props.get("compiler.path"), Some("/opt/tiny/bin/"));
    let core = t.core.as_ref().unwrap();
    let base = dir.path().join("hw/tiny/avr");
    assert_eq!(core.core, base.join("cores/arduino"));
    assert_eq!(core.variant, Some(base.join("variants/standard")));
    assert_eq!(core.libraries, vec![base.join("libraries")]);
    // The same board by its FQBN, the folder as a file:// URL.
    let by_fqbn = target(
        dir.path(),
        &format!(
            "platform = file://{}\nboard = tiny:avr:myboard",
            base.display()
        ),
    )
    .await
    .unwrap();
    assert_eq!(by_fqbn.recipes.properties().get("build.mcu"), Some("m1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_may_use_the_core_of_a_sibling_package() {
    let dir = tempfile::tempdir().unwrap();
    let hw = dir.path().join("hw");
    core(&hw, "arduino", "avr", "");
    core(
        &hw,
        "third",
        "avr",
        "theirs.name=Theirs\ntheirs.build.mcu=m3\ntheirs.build.core=arduino:arduino\n",
    );
    let t = target(dir.path(), "platform = hw/third/avr\nboard = theirs")
        .await
        .unwrap();
    let core = t.core.unwrap();
    assert_eq!(core.core, hw.join("arduino/avr/cores/arduino"));
    assert_eq!(
        core.libraries,
        vec![
            hw.join("third/avr/libraries"),
            hw.join("arduino/avr/libraries")
        ]
    );
    std::fs::remove_dir_all(hw.join("arduino")).unwrap();
    let err = target(dir.path(), "platform = hw/third/avr\nboard = theirs")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("\"arduino\"") && err.contains("not installed beside"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_built_is_refused_before_anything_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    core(&dir.path().join("hw"), "tiny", "avr", "");
    let refused = |lines: &'static str| {
        let root = dir.path().to_path_buf();
        async move { target(&root, lines).await.err().unwrap().to_string() }
    };
    let cases = [
        ("platform = hw/tiny/avr", "needs a `board`"),
        (
            "platform = hw/tiny/avr\nboard = arduino:avr:uno",
            "belongs to the core arduino:avr",
        ),
        ("platform = hw/tiny/avr\nboard = nosuch", "nosuch"),
        (
            "platform = https://example.invalid/core.tar.bz2\nboard = uno",
            "without a checksum",
        ),
        (
            "platform = arduino:samd\nboard = zero",
            "platform_index_urls",
        ),
        (
            "platform = espressif32\nboard = esp32dev",
            "unknown platform",
        ),
        (
            "platform = atmelavr\nboard = uno\nframework = espidf",
            "not supported",
        ),
    ];
    for (lines, said) in cases {
        let err = refused(lines).await;
        assert!(err.contains("[env:e]"), "{lines}: {err}");
        assert!(err.contains(said), "{lines}: {err}");
    }
    assert!(
        !dir.path().join("home").exists(),
        "no coordinator was asked"
    );
}
