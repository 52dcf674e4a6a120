//! Library versions from the two index formats, fetched once per URL and
//! kept for [`LIBRARY_INDEX_TTL`] (a wave of builds asks once; the Arduino index is
//! tens of MB, so a fetch that takes a while is shown to every asker as
//! progress events instead of leaving its clients in silence: seen, a
//! slow index failed builds after 10 s as "the coordinator is busy"):
//! * PlatformIO's registry API: `GET <base>/v3/packages/<owner>/library/<name>`
//!   → `{name, owner: {username}, versions: [{name, files: [{download_url,
//!   checksum: {sha256}}]}]}`; a 404 means no such library.
//! * The Arduino Library Manager's `library_index.json`: `{libraries:
//!   [{name, version, url, checksum: "SHA-256:<hex>"}]}`, one entry per
//!   version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fbuild_core::install_status::{InstallPhase, InstallRole, InstallStatus};
use fbuild_core::protocol::{LibraryIndex, LibraryQuery, LibraryRelease};
use fbuild_core::time::{LIBRARY_INDEX_QUIET, LIBRARY_INDEX_TTL};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::install::fetch;

/// Largest index or registry answer read.
const MAX_INDEX_BYTES: u64 = 512 * 1024 * 1024;

/// What one index URL answered: releases by lowercase name (the registry:
/// one library's; the Arduino index: all), or why it could not be read.
type Listing = Result<Arc<HashMap<String, Vec<LibraryRelease>>>, String>;

/// One URL's fetch: its listing once read (`None` while reading), and its
/// bytes so far.
#[derive(Default)]
struct Fetch {
    listing: watch::Sender<Option<Listing>>,
    bytes: watch::Sender<(u64, Option<u64>)>,
}

/// When a URL was first asked for, and its fetch.
type Fetched = (Instant, Arc<Fetch>);

#[derive(Default)]
pub struct Indexes {
    fetched: Mutex<HashMap<String, Fetched>>,
}

/// The query's answer: the releases, or `Err((unknown, message))`.
pub type Answer = Result<Vec<LibraryRelease>, (bool, String)>;

impl Indexes {
    /// The releases `q` asks for; a fetch that takes a while is told to
    /// `events` as it goes. `stall`: the longest silence of a download.
    pub async fn versions(
        &self,
        q: &LibraryQuery,
        stall: Duration,
        events: &UnboundedSender<InstallStatus>,
    ) -> Answer {
        let (url, registry) = match &q.index {
            LibraryIndex::Registry { url } => {
                let owner = q.owner.as_deref().unwrap_or_default();
                let path = format!("v3/packages/{owner}/library/{}", q.name);
                (join(url, &path.to_lowercase()), true)
            }
            LibraryIndex::Arduino { url } => (url.clone(), false),
        };
        let listing = self
            .fetch(&url, registry, stall, events)
            .await
            .map_err(|e| (false, e))?;
        match listing.get(&q.name.to_lowercase()) {
            Some(releases) if !releases.is_empty() => Ok(releases.clone()),
            _ => Err((true, unknown(q, &listing))),
        }
    }

    /// The listing at `url`, fetched once for every asker (each sees its
    /// progress) by a task of its own: an asker that goes away (a build
    /// given up on) neither stops it nor makes the next asker fetch again.
    /// Failures are not kept (the next build tries again).
    async fn fetch(
        &self,
        url: &str,
        registry: bool,
        stall: Duration,
        events: &UnboundedSender<InstallStatus>,
    ) -> Listing {
        let shared = {
            let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = fetched.get(url).is_some_and(|(at, f)| {
                at.elapsed() < LIBRARY_INDEX_TTL && !matches!(*f.listing.borrow(), Some(Err(_)))
            });
            if !fresh {
                let fetch = Arc::new(Fetch::default());
                let (owned, fetcher) = (url.to_string(), Arc::clone(&fetch));
                tokio::spawn(async move {
                    let (url, bytes) = (owned.clone(), fetcher.bytes.clone());
                    let read =
                        tokio::task::spawn_blocking(move || read(&url, registry, stall, &bytes));
                    // A fetch that panicked is a failure, not a wait forever.
                    let listing = read
                        .await
                        .unwrap_or_else(|e| Err(format!("reading the library index {owned}: {e}")));
                    fetcher.listing.send_replace(Some(listing));
                });
                fetched.insert(url.to_string(), (Instant::now(), fetch));
            }
            Arc::clone(&fetched[url].1)
        };
        let mut bytes = shared.bytes.subscribe();
        let mut listing = shared.listing.subscribe();
        let start = Instant::now();
        loop {
            if let Some(done) = listing.borrow_and_update().clone() {
                return done;
            }
            tokio::select! {
                changed = listing.changed() => {
                    if changed.is_err() {
                        return Err(format!("reading the library index {url}: the fetch ended"));
                    }
                }
                Ok(()) = bytes.changed() => {
                    let (done, total) = *bytes.borrow_and_update();
                    if start.elapsed() >= LIBRARY_INDEX_QUIET {
                        let _ = events.send(progress(url, done, total));
                    }
                }
            }
        }
    }
}

/// A fetch's progress, as an install's.
fn progress(url: &str, done: u64, total: Option<u64>) -> InstallStatus {
    InstallStatus {
        name: "library index".into(),
        version: url.rsplit('/').next().unwrap_or(url).to_string(),
        phase: InstallPhase::Downloading,
        role: InstallRole::Installer,
        bytes_done: done,
        bytes_total: total,
        message: url.to_string(),
        last_error: None,
    }
}

/// Reads the index at `url`, its bytes told to `bytes`; an attempt that
/// fails as a network may (a stall, a reset) is tried once more.
fn read(
    url: &str,
    registry: bool,
    stall: Duration,
    bytes: &watch::Sender<(u64, Option<u64>)>,
) -> Listing {
    let attempt = || {
        let mut tell = |done, total| {
            bytes.send_replace((done, total));
            true
        };
        let watch = fetch::Watch {
            stall,
            progress: Some(&mut tell),
        };
        fetch::fetch_text(url, MAX_INDEX_BYTES, watch)
    };
    let text = match attempt() {
        Err(e) if e.transient => {
            tracing::warn!("reading the library index: {}; retrying once", e.message);
            std::thread::sleep(fbuild_core::time::DOWNLOAD_RETRY_BACKOFF);
            attempt()
        }
        other => other,
    };
    let text = match text {
        Ok(text) => text,
        // The registry's "no such library".
        Err(e) if registry && e.message.ends_with("HTTP 404") => return Ok(Arc::default()),
        Err(e) => return Err(format!("reading the library index: {}", e.message)),
    };
    let releases = if registry {
        parse_registry(&text, url)?
    } else {
        parse_arduino(&text, url)?
    };
    let mut by_name: HashMap<String, Vec<LibraryRelease>> = HashMap::new();
    for r in releases {
        by_name.entry(r.name.to_lowercase()).or_default().push(r);
    }
    Ok(Arc::new(by_name))
}

#[derive(Deserialize)]
struct RegistryPackage {
    name: String,
    owner: RegistryOwner,
    #[serde(default)]
    versions: Vec<RegistryVersion>,
}

#[derive(Deserialize)]
struct RegistryOwner {
    username: String,
}

#[derive(Deserialize)]
struct RegistryVersion {
    name: String,
    #[serde(default)]
    files: Vec<RegistryFile>,
}

#[derive(Deserialize)]
struct RegistryFile {
    download_url: String,
    #[serde(default)]
    checksum: HashMap<String, String>,
}

fn parse_registry(text: &str, url: &str) -> Result<Vec<LibraryRelease>, String> {
    let pkg: RegistryPackage = serde_json::from_str(text)
        .map_err(|e| format!("{url}: not a PlatformIO registry package ({e})"))?;
    Ok(pkg
        .versions
        .into_iter()
        .filter_map(|v| {
            let file = v.files.into_iter().next()?;
            Some(LibraryRelease {
                owner: Some(pkg.owner.username.clone()),
                name: pkg.name.clone(),
                version: v.name,
                url: join(url, &file.download_url),
                sha256: file.checksum.get("sha256").map(|s| s.to_ascii_lowercase()),
            })
        })
        .collect())
}

#[derive(Deserialize)]
struct ArduinoIndex {
    libraries: Vec<ArduinoEntry>,
}

#[derive(Deserialize)]
struct ArduinoEntry {
    name: String,
    version: String,
    url: String,
    #[serde(default)]
    checksum: Option<String>,
}

fn parse_arduino(text: &str, url: &str) -> Result<Vec<LibraryRelease>, String> {
    let index: ArduinoIndex = serde_json::from_str(text)
        .map_err(|e| format!("{url}: not an Arduino library_index.json ({e})"))?;
    Ok(index
        .libraries
        .into_iter()
        .map(|e| LibraryRelease {
            owner: None,
            url: join(url, &e.url),
            sha256: e
                .checksum
                .as_deref()
                .and_then(|c| c.strip_prefix("SHA-256:"))
                .map(|s| s.to_ascii_lowercase()),
            name: e.name,
            version: e.version,
        })
        .collect())
}

/// `path` as written if it is a URL, else relative to `base`'s folder (a
/// mirror laid out beside its index); a registry base gets `/path`.
fn join(base: &str, path: &str) -> String {
    if path.contains("://") {
        return path.to_string();
    }
    if path.starts_with("v3/") {
        return format!("{}/{path}", base.trim_end_matches('/'));
    }
    match base.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{}", path.trim_start_matches('/')),
        None => path.to_string(),
    }
}

/// "no library X in <index>", with the closest names the index has.
fn unknown(q: &LibraryQuery, listing: &HashMap<String, Vec<LibraryRelease>>) -> String {
    let names = listing
        .values()
        .filter_map(|r| r.first())
        .map(|r| r.name.as_str());
    let close = fbuild_platforms::arduino::close(&q.name, names);
    let who = match &q.owner {
        Some(owner) => format!("{owner}/{}", q.name),
        None => q.name.clone(),
    };
    let mut msg = format!("no library {who:?} in {}", q.index.url());
    if !close.is_empty() {
        msg.push_str(&format!("; did you mean {}?", close.join(", ")));
    } else if q.owner.is_some() {
        msg.push_str("; check the owner and name on the registry");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_parse() {
        let reg = r#"{"name":"Greeting","owner":{"username":"acme"},"versions":[
            {"name":"1.1.0","files":[{"download_url":"http://h/dl/g-1.1.0.tar.gz","checksum":{"sha256":"AB"}}]}]}"#;
        let r = parse_registry(reg, "http://h/v3/packages/acme/library/greeting").unwrap();
        assert_eq!(
            (r[0].version.as_str(), r[0].sha256.as_deref()),
            ("1.1.0", Some("ab"))
        );
        let ard = r#"{"libraries":[{"name":"Counter","version":"1.2.0","url":"Counter-1.2.0.zip","checksum":"SHA-256:CD"}]}"#;
        let a = parse_arduino(ard, "http://h/idx/library_index.json").unwrap();
        assert_eq!(a[0].url, "http://h/idx/Counter-1.2.0.zip");
        assert_eq!(a[0].sha256.as_deref(), Some("cd"));
    }
}
