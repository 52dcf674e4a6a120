//! Safe extraction of a `.tar.gz`, `.tar.bz2` or `.zip` (the format told by
//! the file's first bytes, not its URL) into a staging directory.
//!
//! Hazard: an archive is input from the network. Every entry is checked
//! before anything is written: no absolute paths, no `..`, no symlink or
//! hard link whose target leaves the staging dir (checked lexically against
//! the entry's own location, so a chain of links cannot escape either), and
//! only regular files, directories and links: device files, fifos and the
//! like are refused. What the entries unpack to is counted against the
//! package's [`UnpackLimits`] before it is written. A refused archive fails
//! the install; nothing of it is kept.

use super::entry_rules::{check_link, safe_relative, with_causes};
use super::error::InstallError;
use super::spec::UnpackLimits;
use std::fs::File;
use std::io::BufReader;
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};

/// Compression of a tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Bzip2,
}

/// Extracts `archive` (tar.gz, tar.bz2 or zip, by its magic bytes) into
/// `dest`, which must exist, within `limits`. Returns the number of
/// entries.
pub fn extract(archive: &Path, dest: &Path, limits: UnpackLimits) -> Result<u64, InstallError> {
    let mut magic = [0u8; 4];
    let n = File::open(archive)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .map_err(|e| InstallError::Unpack(format!("reading {}: {e}", archive.display())))?;
    let outcome = match &magic[..n] {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => {
            super::unzip::unzip(archive, dest, limits)
        }
        [b'B', b'Z', b'h', ..] => unpack(archive, dest, Compression::Bzip2, limits),
        [0x1f, 0x8b, ..] => unpack(archive, dest, Compression::Gzip, limits),
        _ => Err(format!(
            "{} is not a .tar.gz, .tar.bz2 or .zip archive (it starts with {:02x?})",
            archive.display(),
            &magic[..n]
        )),
    };
    outcome.map_err(InstallError::Unpack)
}

fn unpack(
    archive: &Path,
    dest: &Path,
    compression: Compression,
    limits: UnpackLimits,
) -> Result<u64, String> {
    let file = File::open(archive).map_err(|e| format!("opening {}: {e}", archive.display()))?;
    let reader: Box<dyn std::io::Read> = match compression {
        Compression::Gzip => Box::new(GzDecoder::new(BufReader::new(file))),
        Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(BufReader::new(file))),
    };
    let mut tar = Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.set_overwrite(false);
    let (mut count, mut bytes) = (0, 0u64);
    let entries = tar
        .entries()
        .map_err(|e| format!("reading {}: {e}", archive.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("reading {}: {e}", archive.display()))?;
        let path = entry
            .path()
            .map_err(|e| format!("bad entry name in {}: {e}", archive.display()))?
            .into_owned();
        let kind = entry.header().entry_type();
        // `tar -C dir .` writes the root itself as `./`: nothing to make.
        let is_root = path.components().all(|c| c == Component::CurDir);
        if is_root && kind == EntryType::Directory {
            continue;
        }
        let rel = safe_relative(&path)?;
        match kind {
            EntryType::Regular | EntryType::Directory | EntryType::Continuous => {}
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| format!("bad link in {}: {e}", path.display()))?
                    .ok_or_else(|| format!("link {} has no target", path.display()))?;
                check_link(&rel, &target, kind == EntryType::Link)?;
            }
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName => continue,
            other => {
                return Err(format!(
                    "refusing archive entry {}: type {other:?} (only files, directories and links are allowed)",
                    path.display()
                ));
            }
        }
        // An entry writes its size (a PAX record may set it; the tar
        // crate has applied it), read as it is.
        bytes = bytes.saturating_add(entry.size());
        limits.check(&archive.display().to_string(), bytes, count + 1)?;
        // unpack_in re-checks the path, creates parents, refuses to write
        // through a symlink that leaves `dest`, and resolves hard links
        // against `dest`.
        let unpacked = entry
            .unpack_in(dest)
            .map_err(|e| format!("extracting {}: {}", path.display(), with_causes(&e)))?;
        if !unpacked {
            return Err(format!("refusing archive entry {}", path.display()));
        }
        count += 1;
    }
    Ok(count)
}
