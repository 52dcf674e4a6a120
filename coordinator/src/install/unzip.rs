//! Safe extraction of a `.zip` (Arduino library archives, GitHub
//! downloads), by the same rules as tarballs (see `extract`): every name a
//! plain relative path, no `..`, no absolute paths; links are refused
//! outright (library zips have none), and so is anything that is neither a
//! file nor a directory.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::entry_rules::{safe_relative, with_causes};
use super::spec::UnpackLimits;

pub fn unzip(archive: &Path, dest: &Path, limits: UnpackLimits) -> Result<u64, String> {
    let file = File::open(archive).map_err(|e| format!("opening {}: {e}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| format!("reading {}: {e}", archive.display()))?;
    let what = archive.display().to_string();
    let (mut count, mut bytes) = (0, 0u64);
    limits.check(&what, 0, zip.len() as u64)?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("reading {}: {e}", archive.display()))?;
        let name = entry.name().to_string();
        let rel = safe_relative(Path::new(&name))?;
        if entry.is_symlink() {
            return Err(format!(
                "refusing archive entry {name}: links are not allowed in zip archives"
            ));
        }
        let path = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("creating {}: {}", path.display(), with_causes(&e)))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {}", parent.display(), with_causes(&e)))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("extracting {name}: {}", with_causes(&e)))?;
        // The sizes a zip declares are not trusted: what is written counts.
        let room = limits.bytes.saturating_sub(bytes);
        let written = std::io::copy(&mut (&mut entry).take(room.saturating_add(1)), &mut out)
            .map_err(|e| format!("extracting {name}: {}", with_causes(&e)))?;
        bytes = bytes.saturating_add(written);
        limits.check(&what, bytes, count + 1)?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o755));
        }
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &str)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut w = zip::ZipWriter::new(file.reopen().unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, text) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        file
    }

    #[test]
    fn unpacks_files_and_refuses_parent_paths() {
        let dir = tempfile::tempdir().unwrap();
        let good = zip_of(&[("Lib-1.0/src/a.h", "x"), ("Lib-1.0/library.properties", "")]);
        assert_eq!(
            unzip(good.path(), dir.path(), UnpackLimits::LIBRARY).unwrap(),
            2
        );
        assert!(dir.path().join("Lib-1.0/src/a.h").is_file());

        let out = tempfile::tempdir().unwrap();
        let bad = zip_of(&[("ok.h", "x"), ("../evil.h", "x")]);
        let err = unzip(bad.path(), out.path(), UnpackLimits::LIBRARY).unwrap_err();
        assert!(err.contains("'..'"), "{err}");
        assert!(!out.path().parent().unwrap().join("evil.h").exists());
    }
}
