//! Projects and archives for the hostile-library tests (issue 29): a
//! native project with `lib_deps`, its build, the library store's
//! contents, and tarballs made by Python's tarfile.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::TestHome;

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A native project using `lib_deps` (one per line).
pub fn project(dir: &Path, lib_deps: &[String]) -> PathBuf {
    let proj = dir.join("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(
        proj.join("platformio.ini"),
        format!(
            "[env:native]\nplatform = native\nlib_deps =\n    {}\n",
            lib_deps.join("\n    ")
        ),
    )
    .unwrap();
    std::fs::write(
        proj.join("src/main.c"),
        "#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n",
    )
    .unwrap();
    proj
}

pub fn build(home: &TestHome, dir: &Path, env: &[(&str, &str)]) -> Output {
    home.fbuild(&["build", dir.to_str().unwrap()])
        .env("FBUILD_ZCCACHE", "off")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

pub fn python(script: &str) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the library store holds (names of its folders, hidden ones too).
pub fn store(home: &TestHome) -> Vec<String> {
    std::fs::read_dir(home.path().join("libraries"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A `.tar.gz` with `Lib/library.properties`, `Lib/src/Lib.c` and the
/// extra entries `extra` (Python statements adding to `t`, a TarFile).
pub fn tarball(out: &Path, extra: &str) {
    python(&format!(
        "import io, tarfile\n\
         t = tarfile.open({out:?}, 'w:gz')\n\
         def add(name, text=b'', kind=tarfile.REGTYPE, link=''):\n\
         \x20   i = tarfile.TarInfo(name); i.type = kind; i.linkname = link; i.size = len(text)\n\
         \x20   i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644\n\
         \x20   t.addfile(i, io.BytesIO(text) if kind == tarfile.REGTYPE else None)\n\
         add('Lib/library.properties', b'name=Lib\\nversion=1.0.0\\n')\n\
         add('Lib/src/Lib.c', b'int lib(void) {{ return 1; }}\\n')\n\
         {extra}\n\
         t.close()\n"
    ));
}
