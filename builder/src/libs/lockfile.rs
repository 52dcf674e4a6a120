//! `fbuild.lock`: the project's resolved libraries, per environment, meant
//! to be committed. Each library pinned by version, source and sha256 (of
//! its archive, or of its git tree plus the commit). Written only when its
//! content changes, atomically (a temp file renamed over it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "fbuild.lock";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    pub format: u32,
    pub environments: BTreeMap<String, EnvLock>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvLock {
    /// `lib_deps` as the lock was made from: the lock applies while they
    /// are the same.
    pub lib_deps: Vec<String>,
    pub libraries: Vec<Locked>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locked {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `registry`, `arduino-index`, `git`, `archive` or `path`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Git: the reference asked for (tag, branch, commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A folder used in place (relative to the project when inside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Names of the libraries it depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Who asked for it: `lib_deps` entries or `Name@version`.
    pub required_by: Vec<String>,
}

impl LockFile {
    /// The lock in `project`, if any; a broken one is an error naming it.
    pub fn load(project: &Path) -> Result<Option<LockFile>, String> {
        let path = project.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let lock: LockFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a valid lock file ({e}); fix it or remove it and run `fbuild lib update`",
                path.display()
            )
        })?;
        if lock.format != FORMAT {
            return Err(format!(
                "{}: lock format {} is not {FORMAT} (written by another fbuild); run `fbuild lib update`",
                path.display(),
                lock.format
            ));
        }
        Ok(Some(lock))
    }

    /// Writes the lock if it differs from what is on disk.
    pub fn save(&mut self, project: &Path) -> Result<bool, String> {
        self.format = FORMAT;
        let path = project.join(FILE_NAME);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        let tmp = project.join(format!(".{FILE_NAME}.{}", std::process::id()));
        std::fs::write(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("writing {}: {e}", path.display())
            })?;
        Ok(true)
    }
}

impl EnvLock {
    /// The first difference between the lock's `lib_deps` and `current`,
    /// as a sentence naming the entry; `None` when they match.
    pub fn drift(&self, current: &[String]) -> Option<String> {
        for entry in current {
            if !self.lib_deps.contains(entry) {
                return Some(format!("lib_deps entry {entry:?} is not in the lock"));
            }
        }
        for entry in &self.lib_deps {
            if !current.contains(entry) {
                return Some(format!(
                    "the lock has lib_deps entry {entry:?}, platformio.ini no longer does"
                ));
            }
        }
        None
    }
}
