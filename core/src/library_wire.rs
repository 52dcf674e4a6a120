//! The coordinator protocol's library requests (part of the protocol
//! module, which re-exports them): versions of a library from an index,
//! and one library into the shared store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where library versions are listed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LibraryIndex {
    /// PlatformIO's registry API (`<url>/v3/packages/<owner>/library/<name>`):
    /// specs with an owner, `owner/Name @ ^1.2.3`.
    Registry { url: String },
    /// The Arduino Library Manager's `library_index.json`: specs without an
    /// owner, `Name @ 1.2.3`.
    Arduino { url: String },
}

impl LibraryIndex {
    pub fn url(&self) -> &str {
        match self {
            LibraryIndex::Registry { url } | LibraryIndex::Arduino { url } => url,
        }
    }
}

/// Every version of `name` (by `owner`, for the registry) an index lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryQuery {
    pub index: LibraryIndex,
    pub owner: Option<String>,
    pub name: String,
}

/// One downloadable version of a library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryRelease {
    pub owner: Option<String>,
    /// The name as the index spells it.
    pub name: String,
    pub version: String,
    /// The archive (`.tar.gz` or `.zip`).
    pub url: String,
    /// The archive's sha256, when the index gives it.
    pub sha256: Option<String>,
}

/// A library into the store (`FBUILD_HOME/libraries/<label>-<version>-<hash>`,
/// the hash of `url` and `version`): an archive, or a git checkout when
/// `git_ref` is set. One download for any number of concurrent requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryInstall {
    /// Names the store folder (the library's name when known, else the
    /// URL's last part).
    pub label: String,
    /// The version asked for (a git repository: the reference as the user
    /// wrote it, while `git_ref` may be the commit a lock pins).
    pub version: String,
    pub url: String,
    /// Tag, branch or commit, for a git repository.
    pub git_ref: Option<String>,
    /// What the archive (or the git tree) must hash to (a lock file's
    /// pin); `None`: accept and record.
    pub sha256: Option<String>,
}

/// A library in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryInstalled {
    #[serde(with = "crate::wire_os")]
    pub dir: PathBuf,
    /// The archive's sha256 (a git checkout: its tree's).
    pub sha256: String,
    /// The git commit checked out.
    pub commit: Option<String>,
}

/// Written into a stored package's root: where it came from, its sha256
/// (and git commit), as JSON.
pub const RECORD_FILE: &str = ".fbuild-package.json";

impl LibraryInstall {
    /// Its folder in the store, `<libraries>/<label>-<version>-<hash of
    /// url#version>`: the same for the driver (which looks there before
    /// asking the coordinator) and the coordinator (which installs there).
    pub fn store_dir(&self, libraries: &Path) -> PathBuf {
        let mut h = crate::hash::Fnv1a::new();
        h.write(self.url.as_bytes());
        h.write(b"#");
        h.write(self.version.as_bytes());
        libraries.join(format!(
            "{}-{}-{:016x}",
            sanitize(&self.label),
            sanitize(&self.version),
            h.finish()
        ))
    }

    /// The stored library, when it is there and is what `sha256` pins.
    pub fn stored(&self, libraries: &Path) -> Option<LibraryInstalled> {
        let dir = self.store_dir(libraries);
        let (sha256, commit) = read_record(&dir).ok()?;
        if self
            .sha256
            .as_ref()
            .is_some_and(|want| !want.eq_ignore_ascii_case(&sha256))
        {
            return None;
        }
        Some(LibraryInstalled {
            dir,
            sha256,
            commit,
        })
    }
}

/// Whether `r` can be a git tag, branch or commit name, and nothing else:
/// not empty, no leading `-` (git would take it as an option), no
/// whitespace or control characters.
pub fn is_git_ref(r: &str) -> bool {
    !r.is_empty() && !r.starts_with('-') && !r.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A stored package's record cannot be read: the file, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct BadRecord {
    pub path: std::path::PathBuf,
    pub why: String,
}

/// The recorded sha256 and git commit of a stored package.
pub fn read_record(dir: &Path) -> Result<(String, Option<String>), BadRecord> {
    let path = dir.join(RECORD_FILE);
    let bad = |why: String| BadRecord {
        path: path.clone(),
        why,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let sha = v["sha256"]
        .as_str()
        .ok_or_else(|| bad("it has no sha256".into()))?;
    Ok((sha.to_string(), v["commit"].as_str().map(str::to_string)))
}

/// A folder-name-safe form of a label or version.
fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let out = out.trim_start_matches('.').to_string();
    if out.is_empty() { "lib".into() } else { out }
}
