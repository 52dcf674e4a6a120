//! What to install: one package, described as data.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fbuild_core::install_status::InstallPhase;

/// Checks an unpacked package (in staging, or installed). `Err` says why it
/// is unusable.
pub type HealthCheck = Arc<dyn Fn(&Path) -> Result<(), String> + Send + Sync>;

/// Where the expected sha256 of the archive comes from.
#[derive(Debug, Clone)]
pub enum Checksum {
    /// Known in advance (a package spec pins it).
    Sha256(String),
    /// A `SHA256SUMS` file: lines `<hex>  [./]<file name>`.
    SumsFile { url: String, file_name: String },
    /// Not known yet (an archive URL or git ref seen for the first time):
    /// whatever arrives is accepted and its sha256 recorded (see
    /// [`RECORD_FILE`]), so a lock file can pin it from then on.
    Record,
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `archive_url` is a `.tar.gz`, `.tar.bz2` or `.zip`; the checksum is
    /// the archive's sha256.
    Archive,
    /// `archive_url` is a git repository, cloned by the `git` CLI and
    /// checked out at `reference` (tag, branch or commit); the checksum is
    /// the sha256 of the checked-out tree (see `tree_digest`), `.git`
    /// removed.
    Git { reference: String },
}

/// How much a package may unpack to. Archives are input from the
/// network: a 2 MB one expanded to 2.1 GB with no limit (seen). The
/// defaults are far above real packages (the largest toolchains unpack to
/// ~2 GB; libraries to a few MB); `FBUILD_UNPACK_MAX_MB` and
/// `FBUILD_UNPACK_MAX_FILES` set both kinds' limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    pub bytes: u64,
    pub files: u64,
}

impl UnpackLimits {
    /// Toolchains, cores and tools.
    pub const PACKAGE: UnpackLimits = UnpackLimits {
        bytes: 8 << 30,
        files: 500_000,
    };
    /// Libraries (`lib_deps`).
    pub const LIBRARY: UnpackLimits = UnpackLimits {
        bytes: 512 << 20,
        files: 50_000,
    };

    /// `default`, with what the settings say instead.
    pub fn with(default: UnpackLimits, settings: &fbuild_core::Settings) -> UnpackLimits {
        UnpackLimits {
            bytes: settings
                .unpack_max_mb
                .map_or(default.bytes, |mb| mb.saturating_mul(1 << 20)),
            files: settings.unpack_max_files.unwrap_or(default.files),
        }
    }

    /// Refuses `bytes` in `files` entries when over a limit, naming the
    /// setting that raises it.
    pub fn check(&self, what: &str, bytes: u64, files: u64) -> Result<(), OverLimit> {
        if bytes > self.bytes {
            return Err(OverLimit::Bytes {
                what: what.to_string(),
                mib: self.bytes >> 20,
            });
        }
        if files > self.files {
            return Err(OverLimit::Files {
                what: what.to_string(),
                files: self.files,
            });
        }
        Ok(())
    }
}

/// A package past its unpack limits, with the setting that raises them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverLimit {
    #[error(
        "{what} unpacks to more than {mib} MiB; refused as a decompression bomb \
         (FBUILD_UNPACK_MAX_MB raises the limit)"
    )]
    Bytes { what: String, mib: u64 },
    #[error(
        "{what} holds more than {files} files; refused (FBUILD_UNPACK_MAX_FILES raises the limit)"
    )]
    Files { what: String, files: u64 },
}

impl From<OverLimit> for String {
    fn from(e: OverLimit) -> String {
        e.to_string()
    }
}

/// Written into a package's root when [`PackageSpec::record`] is set.
pub use fbuild_core::library_wire::RECORD_FILE;

#[derive(Clone)]
pub struct PackageSpec {
    pub name: String,
    pub version: String,
    pub archive_url: String,
    pub checksum: Checksum,
    pub origin: Origin,
    /// Write [`RECORD_FILE`] into the package (libraries: the lock file
    /// pins what it says).
    pub record: bool,
    /// The folder inside the archive that becomes the package root; `None`:
    /// the archive root is the package root; `"*"`: the archive's one folder,
    /// whatever its name.
    pub top_dir: Option<String>,
    /// Files (relative to the package root) that must exist and be
    /// executable.
    pub executables: Vec<String>,
    /// How much it may unpack to.
    pub limits: UnpackLimits,
    /// The longest silence within its download.
    pub stall: Duration,
    pub health: HealthCheck,
    /// The final directory, e.g. `FBUILD_HOME/tools/zccache-1.15.8`.
    pub dest: PathBuf,
    /// The cross-process lock file, e.g. `FBUILD_HOME/locks/zccache-1.15.8.lock`.
    pub lock_file: PathBuf,
    /// Tests only: pause on entering this phase (see Settings::install_pause).
    pub pause: Option<(InstallPhase, Duration)>,
}

impl PackageSpec {
    /// One key per package and version: the single-flight and lock unit.
    pub fn key(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    /// The file whose size and mtime tell whether an install changed.
    pub fn main_executable(&self) -> Option<PathBuf> {
        self.executables.first().map(|e| self.dest.join(e))
    }
}

impl std::fmt::Debug for PackageSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageSpec")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("archive_url", &self.archive_url)
            .field("dest", &self.dest)
            .finish_non_exhaustive()
    }
}
