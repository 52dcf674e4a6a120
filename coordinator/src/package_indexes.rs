//! Package indexes (`package_index.json`) by URL: read at most once per
//! [`PACKAGE_INDEX_TTL`] (a no-op build neither fetches nor parses one),
//! and the last copy read kept under `FBUILD_HOME/packages/.indexes/`, so
//! a build whose core is installed still builds when the index cannot be
//! reached (as arduino-cli compiles from its last `update-index`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fbuild_platforms::arduino::index::PackageIndex;
use sha2::{Digest, Sha256};

use crate::install::fetch;

/// Largest index fbuild reads (Arduino's own is about 1 MB).
const MAX_INDEX_BYTES: u64 = 32 * 1024 * 1024;

pub struct PackageIndexes {
    /// Where the copies live.
    dir: PathBuf,
    stall: Duration,
    ttl: Duration,
    read: Mutex<HashMap<String, (Instant, Arc<PackageIndex>)>>,
}

impl PackageIndexes {
    pub fn new(dir: PathBuf, stall: Duration, ttl: Duration) -> Self {
        PackageIndexes {
            dir,
            stall,
            ttl,
            read: Mutex::new(HashMap::new()),
        }
    }

    /// The index at `url`: the one read within the TTL, else fetched (and
    /// its copy kept), else the kept copy when the fetch failed.
    pub async fn get(&self, url: &str) -> Result<Arc<PackageIndex>, String> {
        if let Some((at, index)) = self.lock().get(url)
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(index));
        }
        let (owned, stall) = (url.to_string(), self.stall);
        let fetched = tokio::task::spawn_blocking(move || {
            fetch::fetch_text(&owned, MAX_INDEX_BYTES, fetch::Watch::quiet(stall))
        })
        .await
        .map_err(|e| e.to_string())?;
        let copy = self.copy_of(url);
        let index = match fetched {
            Ok(text) => {
                let index = PackageIndex::parse(&text, url).map_err(|e| e.to_string())?;
                keep(&copy, &text);
                index
            }
            Err(e) => {
                let why = format!("reading the package index: {}", e.message);
                let Ok(text) = std::fs::read_to_string(&copy) else {
                    return Err(why);
                };
                let index = PackageIndex::parse(&text, url).map_err(|_| why.clone())?;
                tracing::warn!("{why}; using the copy read before ({})", copy.display());
                index
            }
        };
        let index = Arc::new(index);
        self.lock()
            .insert(url.to_string(), (Instant::now(), Arc::clone(&index)));
        Ok(index)
    }

    /// The next [`get`](Self::get) of `url` reads it again.
    pub fn forget(&self, url: &str) {
        self.lock().remove(url);
    }

    fn copy_of(&self, url: &str) -> PathBuf {
        let hash = Sha256::digest(url.as_bytes());
        let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<PackageIndex>)>> {
        self.read.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes `text` to `copy` whole or not at all (a temp file renamed).
fn keep(copy: &std::path::Path, text: &str) {
    let tmp = copy.with_extension(format!("json.tmp.{}", std::process::id()));
    let written = copy
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, copy));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(
            "keeping a copy of a package index at {}: {e}",
            copy.display()
        );
    }
}
