//! Downloads over http(s) (ureq, proxies from the usual env vars) and
//! `file://`, with connect and response timeouts, a limit on silence within
//! a body ([`Watch::stall`]: a stalled mirror fails the attempt instead of
//! holding the build), cancellation between reads when nobody waits any
//! more, sha256 computed while streaming, and errors classified as
//! transient (worth one retry) or not.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fbuild_core::time::{DOWNLOAD_BODY_TIMEOUT, DOWNLOAD_CONNECT_TIMEOUT, DOWNLOAD_READ_TIMEOUT};
use sha2::{Digest, Sha256};

/// A download that failed, and whether one more try may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub transient: bool,
    /// Stopped because nobody waits for it any more.
    pub cancelled: bool,
    pub message: String,
}

impl FetchError {
    pub fn transient(message: String) -> Self {
        FetchError {
            transient: true,
            cancelled: false,
            message,
        }
    }

    pub fn permanent(message: String) -> Self {
        FetchError {
            transient: false,
            cancelled: false,
            message,
        }
    }
}

/// How a transfer is watched.
pub struct Watch<'a> {
    /// The longest silence within the body.
    pub stall: Duration,
    /// Told `(bytes done, total)` per chunk; `false` cancels the transfer.
    pub progress: Option<&'a mut dyn FnMut(u64, Option<u64>) -> bool>,
}

impl Watch<'_> {
    /// A transfer nobody shows or cancels.
    pub fn quiet(stall: Duration) -> Watch<'static> {
        Watch {
            stall,
            progress: None,
        }
    }

    /// Tells the progress; whether to go on.
    fn tell(&mut self, done: u64, total: Option<u64>) -> bool {
        self.progress.as_mut().is_none_or(|p| p(done, total))
    }
}

/// A finished download: its size and sha256 (lowercase hex).
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub bytes: u64,
    pub sha256: String,
}

/// Streams `url` into `dest`, watched by `watch`.
pub fn download(url: &str, dest: &Path, mut watch: Watch) -> Result<Downloaded, FetchError> {
    let (mut reader, total) = open(url, watch.stall)?;
    let mut out = File::create(dest)
        .map_err(|e| FetchError::permanent(format!("creating {}: {e}", dest.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    watch.tell(0, total);
    loop {
        let n = read(&mut reader, &mut buf, url, done, watch.stall)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| FetchError::permanent(format!("writing {}: {e}", dest.display())))?;
        done += n as u64;
        if !watch.tell(done, total) {
            return Err(FetchError::cancelled(url));
        }
    }
    if let Some(total) = total.filter(|t| *t != done) {
        return Err(FetchError::transient(format!(
            "{url} was cut short: got {done} of {total} bytes"
        )));
    }
    out.sync_all()
        .map_err(|e| FetchError::permanent(format!("writing {}: {e}", dest.display())))?;
    Ok(Downloaded {
        bytes: done,
        sha256: hex(&hasher.finalize()),
    })
}

/// One read of a body: bytes, or why the attempt failed (silence longer
/// than `stall` says so).
fn read(
    reader: &mut dyn Read,
    buf: &mut [u8],
    url: &str,
    done: u64,
    stall: Duration,
) -> Result<usize, FetchError> {
    loop {
        return match reader.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => Err(FetchError::transient(format!(
                "no data from {url} for {} s after {done} bytes (FBUILD_DOWNLOAD_STALL_SECS \
                 sets how long a download may stall)",
                stall.as_secs_f64()
            ))),
            Err(e) => Err(FetchError::transient(format!(
                "reading {url} after {done} bytes: {e}"
            ))),
        };
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

impl FetchError {
    /// Stopped: nobody waits for `url` any more.
    pub fn cancelled(url: &str) -> FetchError {
        FetchError {
            transient: false,
            cancelled: true,
            message: format!("the download of {url} was cancelled: no build waits for it any more"),
        }
    }
}

/// Fetches a text file (at most `limit` bytes, after decompression: a
/// gzip body such as Arduino's `library_index.json.gz` is unpacked).
pub fn fetch_text(url: &str, limit: u64, mut watch: Watch) -> Result<String, FetchError> {
    let (mut reader, total) = open(url, watch.stall)?;
    let mut body = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    watch.tell(0, total);
    while (body.len() as u64) < limit {
        let n = read(&mut reader, &mut buf, url, body.len() as u64, watch.stall)?;
        if n == 0 {
            break;
        }
        let room = (limit - body.len() as u64).min(n as u64) as usize;
        body.extend_from_slice(&buf[..room]);
        if !watch.tell(body.len() as u64, total) {
            return Err(FetchError::cancelled(url));
        }
    }
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut plain)
            .map_err(|e| FetchError::permanent(format!("unpacking {url}: {e}")))?;
        body = plain;
    }
    String::from_utf8(body).map_err(|_| FetchError::permanent(format!("{url} is not UTF-8 text")))
}

fn open(url: &str, stall: Duration) -> Result<(Box<dyn Read + Send>, Option<u64>), FetchError> {
    if let Some(path) = url.strip_prefix("file://") {
        let path = PathBuf::from(path);
        let file = File::open(&path).map_err(|e| {
            FetchError::permanent(format!("opening {} (from {url}): {e}", path.display()))
        })?;
        let len = file.metadata().ok().map(|m| m.len());
        return Ok((Box::new(file), len));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(FetchError::permanent(format!(
            "unsupported URL {url:?}: use https://, http:// or file://"
        )));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(DOWNLOAD_CONNECT_TIMEOUT))
        .timeout_recv_response(Some(stall.max(DOWNLOAD_READ_TIMEOUT)))
        .timeout_recv_body(Some(DOWNLOAD_BODY_TIMEOUT))
        .timeout_per_read(Some(stall))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| FetchError::transient(request_failed(url, &e, stall)))?;
    let status = response.status().as_u16();
    if status != 200 {
        let msg = format!("{url} answered HTTP {status}");
        // Server trouble and rate limits may pass; a 404 will not.
        return Err(if status >= 500 || status == 408 || status == 429 {
            FetchError::transient(msg)
        } else {
            FetchError::permanent(msg)
        });
    }
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let reader = response.into_body().into_reader();
    Ok((Box::new(reader), total))
}

/// Why a request got no answer, in words: a silent server names the
/// setting that bounds the silence.
fn request_failed(url: &str, e: &ureq::Error, stall: Duration) -> String {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => format!(
            "could not connect to {url} within {} s",
            DOWNLOAD_CONNECT_TIMEOUT.as_secs()
        ),
        ureq::Error::Timeout(_) => format!(
            "no answer from {url} for {} s (FBUILD_DOWNLOAD_STALL_SECS sets how long a download \
             may stall)",
            stall.as_secs_f64()
        ),
        other => format!("requesting {url}: {other}"),
    }
}

/// A sha256 as written that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sha256 {0:?} is not 64 hex digits")]
pub struct BadSha256(pub String);

/// `s` as a lowercase sha256 (64 hex digits).
pub fn sha256_hex(s: &str) -> Result<String, BadSha256> {
    let hex = s.trim().to_ascii_lowercase();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(BadSha256(s.to_string()))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Finds `file_name`'s hash in a `SHA256SUMS` text (`<hex>  [./|*]name`).
/// A line with the hash alone (a per-asset `<file>.sha256`, as sccache's
/// releases have) matches any name.
pub fn find_checksum(sums: &str, file_name: &str) -> Option<String> {
    sums.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let hash = parts.next()?;
        let name = parts.next().unwrap_or(file_name);
        let name = name.trim_start_matches('*').trim_start_matches("./");
        (name == file_name && hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hash.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_lines_with_and_without_dot_slash() {
        let h = "a".repeat(64);
        let sums = format!("{h}  ./zccache-v1-x.tar.gz\n{}  other\n", "b".repeat(64));
        assert_eq!(find_checksum(&sums, "zccache-v1-x.tar.gz"), Some(h.clone()));
        let sums = format!("{h}  zccache-v1-x.tar.gz\n");
        assert_eq!(find_checksum(&sums, "zccache-v1-x.tar.gz"), Some(h));
        assert_eq!(find_checksum(&sums, "zccache-v2-x.tar.gz"), None);
        assert_eq!(
            find_checksum("xyz  zccache-v1-x.tar.gz", "zccache-v1-x.tar.gz"),
            None
        );
    }
}
