//! One kept project of `fbuild ci` (a board and a build slot), made ready
//! for one example: `sketch/<name>` links to the example folder (a single
//! file: a folder holding a link to it alone, so nothing beside it is
//! walked), `lib/<name>` to each `--lib` folder, and `platformio.ini`
//! names only those relative folders. Links, not paths in the ini: a path
//! there would be read with the ini's syntax (`;` starts a comment,
//! `${…}` is interpolated, `, ` separates `lib_deps`). The build folder
//! (`.fbuild/`) is kept from example to example.

use std::io;
use std::path::{Path, PathBuf};

/// Points `slot` at `example` and `libs`, and writes its `platformio.ini`
/// from `ini(src_dir)` (whole or not at all).
pub fn prepare(
    slot: &Path,
    libs: &[PathBuf],
    example: &Path,
    ini: impl FnOnce(&str) -> String,
) -> io::Result<()> {
    std::fs::create_dir_all(slot)?;
    let sketch = slot.join("sketch");
    remove(&sketch)?;
    std::fs::create_dir(&sketch)?;
    let name = plain_name(example);
    if example.is_file() {
        let dir = sketch.join(&name);
        std::fs::create_dir(&dir)?;
        link(example, &dir.join(example.file_name().unwrap_or_default()))?;
    } else {
        link(example, &sketch.join(&name))?;
    }
    let lib = slot.join("lib");
    remove(&lib)?;
    std::fs::create_dir(&lib)?;
    let mut taken = Vec::new();
    for l in libs {
        let mut name = plain_name(l);
        while taken.contains(&name) {
            name.push('_');
        }
        link(l, &lib.join(&name))?;
        taken.push(name);
    }
    let file = slot.join("platformio.ini");
    let tmp = slot.join("platformio.ini.tmp");
    std::fs::write(&tmp, ini(&format!("sketch/{name}")))?;
    std::fs::rename(&tmp, &file)
}

/// A folder's (or file's stem's) name when it is plain text, else
/// `example`: the name a sketch's main `.ino` is matched against.
fn plain_name(path: &Path) -> String {
    let name = match path.is_file() {
        true => path.file_stem(),
        false => path.file_name(),
    };
    let name = name
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !name.starts_with('.');
    if plain { name } else { "example".into() }
}

/// Removes `path` (a link, a folder of links) if it is there.
fn remove(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Windows: a link to a folder needs Developer Mode or an administrator;
/// said so when refused.
#[cfg(windows)]
fn link(target: &Path, at: &Path) -> io::Result<()> {
    let made = if target.is_dir() {
        std::os::windows::fs::symlink_dir(target, at)
    } else {
        std::os::windows::fs::symlink_file(target, at)
    };
    made.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{e} (fbuild ci links to the examples: turn on Developer Mode)"),
        )
    })
}
