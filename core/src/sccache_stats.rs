//! sccache's statistics as the coordinator reports them (part of the
//! protocol: `Status::sccache`) and the build reads them: one parser of
//! `sccache --show-stats --stats-format json`.

use serde::{Deserialize, Serialize};

/// sccache's statistics (`sccache --show-stats --stats-format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SccacheStats {
    /// Its `cache_location` (`Local disk: …`, `redis, name: …`).
    pub location: String,
    pub hits: u64,
    pub misses: u64,
    /// Storage read and write errors (a remote that went away).
    pub errors: u64,
    pub compile_requests: u64,
}

impl SccacheStats {
    /// From `sccache --show-stats --stats-format json` (errors: read and
    /// write errors and errors by language; hits and misses summed over
    /// languages).
    pub fn parse(json: &[u8]) -> Option<SccacheStats> {
        let v: serde_json::Value = serde_json::from_slice(json).ok()?;
        let s = v.get("stats")?;
        let sum = |key: &str| -> u64 {
            s[key]["counts"]
                .as_object()
                .map(|m| m.values().filter_map(|x| x.as_u64()).sum())
                .unwrap_or(0)
        };
        let n = |key: &str| s[key].as_u64().unwrap_or(0);
        Some(SccacheStats {
            location: v["cache_location"].as_str().unwrap_or("").to_string(),
            hits: sum("cache_hits"),
            misses: sum("cache_misses"),
            errors: n("cache_read_errors") + n("cache_write_errors") + sum("cache_errors"),
            compile_requests: n("compile_requests"),
        })
    }
}

/// The one way fbuild says a shared (remote) cache went away, whoever saw
/// it first: the coordinator's watch (`why`: what it saw) or a build whose
/// server changed under it (seen: one event told in two wordings, by the
/// build and again by the next one).
pub fn went_away(storage: &str, why: &str) -> String {
    format!(
        "the shared cache ({storage}) went away ({why}): sccache goes on with its local cache \
         under FBUILD_HOME, sharing nothing, until it answers again (checked at the next build \
         after 10 s)"
    )
}
