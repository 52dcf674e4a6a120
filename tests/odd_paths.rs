//! Projects wherever they are (issue 29): a folder whose name holds a `"`,
//! a literal `{build.path}`, spaces and a byte that is not UTF-8 builds for
//! the host and for an Uno, runs, and is up to date the next time. (Paths
//! go into recipes as markers, never as text to expand or split.)

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;

use common::*;

fn counts(err: &str) -> String {
    err.lines()
        .rev()
        .find(|l| l.contains(" compiled, "))
        .map(|l| l.rsplit('(').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn a_project_in_an_odd_folder_builds_and_stays_up_to_date() {
    let work = tempfile::tempdir().unwrap();
    let mut name = work.path().as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/we\"ird {build.path} \xff dir");
    let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&name));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("lib/Odd Lib/src")).unwrap();
    std::fs::write(
        dir.join("platformio.ini"),
        "[env:native]\nplatform = native\n\n[env:uno]\nplatform = atmelavr\nboard = uno\nframework = arduino\n",
    )
    .unwrap();
    std::fs::write(dir.join("lib/Odd Lib/src/odd.h"), "int odd(void);\n").unwrap();
    std::fs::write(
        dir.join("lib/Odd Lib/src/odd.c"),
        "int odd(void) { return 21; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.cpp"),
        "extern \"C\" {\n#include <odd.h>\n}\n#ifdef ARDUINO\n#include <Arduino.h>\nvoid setup() { Serial.begin(9600); Serial.println(odd()); }\nvoid loop() {}\n#else\n#include <cstdio>\nint main() { std::printf(\"%d\\n\", 2 * odd()); }\n#endif\n",
    )
    .unwrap();
    let home = TestHome::new();
    // The host through the cache (its compiles here run without it: zccache
    // takes text only), the Uno without.
    for (env, cache) in [("native", "auto"), ("uno", "off")] {
        let build = || {
            let mut cmd = home.fbuild(&["build", "-e", env]);
            cmd.arg(&dir)
                .env("FBUILD_ZCCACHE", cache)
                .env("FBUILD_ZCCACHE_URL", mirror_url());
            cmd.output().unwrap()
        };
        let first = build();
        let err = String::from_utf8_lossy(&first.stderr).into_owned();
        assert!(first.status.success(), "{env}: {err}");
        assert!(!err.contains("zccache failed"), "{env}: {err}");
        let again = build();
        let err = said(&again);
        assert!(again.status.success(), "{env}: {err}");
        assert!(counts(&err).starts_with("0 compiled"), "{env}: {err}");
    }
    let out = Command::new(dir.join(".fbuild/build/native/program"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
    assert!(dir.join(".fbuild/build/uno/firmware.hex").is_file());
}
