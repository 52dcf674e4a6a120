//! The compile cache's figures as `fbuild cache` shows them (part of the
//! protocol: the coordinator's `Reply::CacheFigures`), and the one reader
//! of zccache's (`zccache status --json`, its `daemon` object). zccache
//! counts from its daemon's start; `fbuild cache zero` keeps a baseline
//! that later figures are taken from, as ccache's `-z` does.

use serde::{Deserialize, Serialize};

/// What `fbuild cache` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheAction {
    Stats,
    /// Counts start again from now.
    Zero,
    /// Every entry removed (and the counts zeroed).
    Clear,
}

/// Hits, misses and steps the cache could not take, of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub hits: u64,
    pub misses: u64,
    pub non_cacheable: u64,
}

impl Counts {
    fn minus(self, base: Counts) -> Counts {
        Counts {
            hits: self.hits.saturating_sub(base.hits),
            misses: self.misses.saturating_sub(base.misses),
            non_cacheable: self.non_cacheable.saturating_sub(base.non_cacheable),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheFigures {
    /// `zccache`, `sccache` or `none`.
    pub cache: String,
    /// Where its entries are.
    pub dir: String,
    /// Its daemon answered (else the counts are zero: nothing counted).
    pub running: bool,
    pub compiles: Counts,
    /// Links and archives.
    pub links: Counts,
    pub entries: u64,
    pub size_bytes: u64,
    /// The daemon's uptime when read, in seconds.
    pub uptime_secs: u64,
    /// Seconds the counts cover: since the daemon started, or since
    /// `fbuild cache zero` when `zeroed`.
    pub counting_secs: u64,
    pub zeroed: bool,
    /// fbuild's store of links and archives (`crate::link_store`): where,
    /// how many entries, how many bytes.
    #[serde(default)]
    pub link_store: StoreFigures,
    /// fbuild's store of built cores and libraries (`builds/libs/`).
    #[serde(default)]
    pub library_store: StoreFigures,
}

/// The size of fbuild's own store of links and archives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFigures {
    pub dir: String,
    pub entries: u64,
    pub size_bytes: u64,
}

impl CacheFigures {
    /// From the `daemon` object of `zccache status --json`.
    pub fn from_zccache(daemon: &serde_json::Value) -> CacheFigures {
        let n = |k: &str| daemon[k].as_u64().unwrap_or(0);
        CacheFigures {
            cache: "zccache".into(),
            dir: daemon["cache_dir"].as_str().unwrap_or_default().to_string(),
            running: true,
            compiles: Counts {
                hits: n("cache_hits"),
                misses: n("cache_misses"),
                non_cacheable: n("non_cacheable"),
            },
            links: Counts {
                hits: n("link_hits"),
                misses: n("link_misses"),
                non_cacheable: n("link_non_cacheable"),
            },
            entries: n("artifact_count"),
            size_bytes: n("cache_size_bytes"),
            uptime_secs: n("uptime_secs"),
            counting_secs: n("uptime_secs"),
            zeroed: false,
            link_store: StoreFigures::default(),
            library_store: StoreFigures::default(),
        }
    }

    /// The counts since `base` was read (`fbuild cache zero`), when `base`
    /// is of the same daemon: it has been up since then. After a restart
    /// the daemon counts from its start, which is later than the zero.
    pub fn since(mut self, base: &CacheFigures, secs_since_base: u64) -> CacheFigures {
        let same_daemon = self.uptime_secs >= base.uptime_secs + secs_since_base.saturating_sub(2);
        if !self.running || !same_daemon {
            return self;
        }
        self.compiles = self.compiles.minus(base.compiles);
        self.links = self.links.minus(base.links);
        self.counting_secs = secs_since_base;
        self.zeroed = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(hits: u64, uptime: u64) -> CacheFigures {
        CacheFigures::from_zccache(&serde_json::json!({
            "cache_dir": "/c", "cache_hits": hits, "cache_misses": 4, "non_cacheable": 1,
            "link_hits": 2, "link_misses": 3, "link_non_cacheable": 0,
            "artifact_count": 9, "cache_size_bytes": 1000, "uptime_secs": uptime
        }))
    }

    #[test]
    fn counts_from_a_zero_of_the_same_daemon_only() {
        let base = daemon(10, 100);
        let now = daemon(15, 160).since(&base, 60);
        assert!(now.zeroed);
        assert_eq!((now.compiles.hits, now.compiles.misses), (5, 0));
        assert_eq!(now.counting_secs, 60);
        // Restarted since the zero (up 20 s, zeroed 60 s ago): its own counts.
        let restarted = daemon(3, 20).since(&base, 60);
        assert!(!restarted.zeroed);
        assert_eq!(restarted.compiles.hits, 3);
    }
}
