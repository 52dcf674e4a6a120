//! The coordinator protocol's library requests (part of the protocol
//! module, which re-exports them): versions of a library from an index,
//! and one library into the shared store.

use std::path::PathBuf;

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
