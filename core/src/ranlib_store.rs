//! What `ranlib` from the link store needs beyond a link's entry (the
//! shim's `ranlib` runs it): the fingerprint of what ranlib loads besides
//! the archive and itself, and writing its result into the archive as
//! GNU ranlib does.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::hash::Fnv1a;
use crate::link_store::{nanos, on_path};

/// Folders whose bfd plugins binutils loads by itself wherever it is
/// installed (GCC's and LLVM's LTO plugins: without one, LTO objects get
/// no symbols in the index); `bin/../lib/bfd-plugins` beside the tool is
/// added to these.
const PLUGIN_FOLDERS: &[&str] = &[
    "/usr/lib/bfd-plugins",
    "/usr/lib64/bfd-plugins",
    "/usr/local/lib/bfd-plugins",
];

/// The files `real` (a `ranlib`, or GCC's `[triple-]gcc-ranlib` wrapper)
/// may load or run, each by path, size and mtime, as one fingerprint:
/// the bfd plugins; for a wrapper, the ranlib it runs (`triple-ranlib`
/// beside it, `../triple/bin/ranlib`, `ranlib` on PATH) and GCC's LTO
/// plugin it passes (`../libexec/gcc/*/*/`, `../lib/gcc/*/*/`).
pub fn fingerprint(real: &Path) -> String {
    let real = std::fs::canonicalize(real).unwrap_or_else(|_| real.to_path_buf());
    let bin = real.parent().unwrap_or(Path::new("/")).to_path_buf();
    let prefix = bin.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut files = Vec::new();
    let mut folders: Vec<PathBuf> = PLUGIN_FOLDERS.iter().map(PathBuf::from).collect();
    folders.push(prefix.join("lib/bfd-plugins"));
    for folder in &folders {
        files.extend(listed(folder));
    }
    // `x86_64-linux-gnu-gcc-ranlib-12`, `avr-gcc-ranlib.exe`: the
    // wrapper's name with a version or `.exe` after it.
    let name = real.file_name().unwrap_or_default().to_string_lossy();
    if let Some((triple, _)) = name.split_once("gcc-ranlib") {
        files.push(bin.join(format!("{triple}ranlib")));
        files.push(prefix.join(triple.trim_end_matches('-')).join("bin/ranlib"));
        files.extend(on_path(&["ranlib"]).into_iter().map(|(path, _)| path));
        for gcc in ["libexec/gcc", "lib/gcc"] {
            for target in listed(&prefix.join(gcc)) {
                for version in listed(&target) {
                    files.extend(
                        listed(&version)
                            .into_iter()
                            .filter(|f| f.to_string_lossy().contains("liblto_plugin")),
                    );
                }
            }
        }
    }
    let mut h = Fnv1a::new();
    for file in &files {
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        h.write(file.as_os_str().as_encoded_bytes());
        h.write(&meta.len().to_le_bytes());
        h.write(&nanos(meta.modified().unwrap_or(std::time::UNIX_EPOCH)).to_le_bytes());
    }
    format!("ranlib {:016x}", h.finish())
}

/// The entries of `folder`, sorted (none when it cannot be read).
fn listed(folder: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries
}

/// Whether `path` is a regular archive (`!<arch>`): its members are in
/// its bytes. A thin one (`!<thin>`) names its members' files, which no
/// key of its bytes covers.
pub fn is_regular_archive(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"!<arch>\n")
}

/// Why ranlib's result did not reach the archive.
pub enum PutBack {
    /// The archive could not be opened for writing: it is as it was.
    NotOpened(io::Error),
    /// Writing failed part way: the archive may be cut short.
    Failed(io::Error),
}

/// `result` written into `archive` as GNU ranlib (binutils ≥ 2.37)
/// writes it: the same file truncated and written, so its inode, owner,
/// mode and other links stay, a symbolic link is written through, and it
/// is dated now (make compares it with what it was made from).
pub fn put_back(result: &[u8], archive: &Path) -> Result<(), PutBack> {
    let mut file = std::fs::File::options()
        .write(true)
        .open(archive)
        .map_err(PutBack::NotOpened)?;
    file.set_len(0)
        .and_then(|()| file.write_all(result))
        .map_err(PutBack::Failed)
}
