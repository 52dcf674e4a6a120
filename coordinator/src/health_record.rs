//! Toolchain health results kept across coordinator restarts, in
//! `FBUILD_HOME/coordinator/health.json`: per (compiler, target flag), the
//! answer and the fingerprint (device, inode, size, mtime) of the C and
//! C++ compilers it was found for. A changed compiler is checked again;
//! only healthy results are kept (a failure is worth re-checking).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fbuild_core::stamp::FileStamp;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone)]
struct Entry {
    cc: FileStamp,
    cxx: FileStamp,
    /// C++ needs `-DDECIMAL_DIG=__DECIMAL_DIG__`.
    dig: bool,
}

pub struct HealthRecord {
    file: PathBuf,
    lock: Mutex<()>,
}

fn key(cc: &Path, cxx: &Path, flag: &str) -> String {
    format!("{}\u{0}{}\u{0}{flag}", cc.display(), cxx.display())
}

impl HealthRecord {
    pub fn new(file: PathBuf) -> Self {
        HealthRecord {
            file,
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> BTreeMap<String, Entry> {
        std::fs::read(&self.file)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default()
    }

    /// A remembered healthy answer for these compilers as they are now.
    pub fn recall(&self, cc: &Path, cxx: &Path, flag: &str) -> Option<bool> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.read().remove(&key(cc, cxx, flag))?;
        (Some(&entry.cc) == FileStamp::of(cc).as_ref()
            && Some(&entry.cxx) == FileStamp::of(cxx).as_ref())
        .then_some(entry.dig)
    }

    /// Keeps a healthy answer (written whole, renamed into place).
    pub fn keep(&self, cc: &Path, cxx: &Path, flag: &str, dig: bool) {
        let (Some(cc_fp), Some(cxx_fp)) = (FileStamp::of(cc), FileStamp::of(cxx)) else {
            return;
        };
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = self.read();
        all.insert(
            key(cc, cxx, flag),
            Entry {
                cc: cc_fp,
                cxx: cxx_fp,
                dig,
            },
        );
        let Ok(text) = serde_json::to_vec_pretty(&all) else {
            return;
        };
        let tmp = self.file.with_extension("json.tmp");
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &self.file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_until_the_compiler_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (cc, cxx) = (dir.path().join("cc"), dir.path().join("c++"));
        std::fs::write(&cc, "v1").unwrap();
        std::fs::write(&cxx, "v1").unwrap();
        let record = HealthRecord::new(dir.path().join("health.json"));
        assert_eq!(record.recall(&cc, &cxx, "-mmcu=x"), None);
        record.keep(&cc, &cxx, "-mmcu=x", true);
        let again = HealthRecord::new(dir.path().join("health.json"));
        assert_eq!(again.recall(&cc, &cxx, "-mmcu=x"), Some(true));
        assert_eq!(again.recall(&cc, &cxx, "-mmcu=y"), None);
        std::fs::write(&cc, "version 2").unwrap();
        assert_eq!(again.recall(&cc, &cxx, "-mmcu=x"), None);
    }
}
