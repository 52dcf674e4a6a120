//! fbuild's Unity-compatible runtime (`tester/unity/`: our own header and
//! C runtime, see unity.h) as a library folder each suite build finds by
//! `#include <unity.h>`. Written only when its text changed, so suite
//! objects stay up to date across runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const FILES: [(&str, &str); 5] = [
    ("unity.h", include_str!("../unity/unity.h")),
    ("unity.c", include_str!("../unity/unity.c")),
    ("unity_output.c", include_str!("../unity/unity_output.c")),
    (
        "unity_output_arduino.cpp",
        include_str!("../unity/unity_output_arduino.cpp"),
    ),
    (
        "library.properties",
        include_str!("../unity/library.properties"),
    ),
];

/// Writes `<dir>/Unity/…` and returns `dir` (a folder of libraries, for
/// `lib_extra_dirs`).
pub fn install(dir: &Path) -> Result<PathBuf> {
    let lib = dir.join("Unity");
    std::fs::create_dir_all(&lib).with_context(|| format!("creating {}", lib.display()))?;
    for (name, text) in FILES {
        let path = lib.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            let tmp = lib.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(dir.to_path_buf())
}
