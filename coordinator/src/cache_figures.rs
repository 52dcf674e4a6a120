//! `fbuild cache stats|zero|clear`: the figures of the compile cache this
//! coordinator runs (zccache's daemon's counts, taken from the last `zero`;
//! sccache's server's with `FBUILD_CACHE=sccache`), and zccache's
//! `clear`. The baseline of `zero` is `coordinator/cache-zero.json`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use fbuild_core::cache_figures::{CacheAction, CacheFigures, Counts, StoreFigures};
use fbuild_core::link_store;
use fbuild_core::protocol::{ErrorKind, Reply};
use fbuild_core::settings::CacheKind;
use fbuild_core::time::ZCCACHE_COMMAND_TIMEOUT;
use fbuild_core::tool::run;
use serde::{Deserialize, Serialize};

use crate::services::Services;

/// What `zero` kept: the figures then, and when.
#[derive(Serialize, Deserialize)]
struct Baseline {
    figures: CacheFigures,
    at_secs: u64,
}

/// The answer to `Request::Cache` (blocking: runs zccache's commands).
pub fn answer(svc: &Services, action: CacheAction, cache: CacheKind) -> Reply {
    let result = match cache {
        CacheKind::Zccache => zccache(svc, action),
        CacheKind::Sccache => sccache(svc, action),
        CacheKind::None => Ok(CacheFigures {
            cache: "none".into(),
            ..CacheFigures::default()
        }),
    };
    match result {
        Ok(mut figures) => {
            let home = &svc.settings.home;
            figures.link_store = store(&home.link_store_dir(), link_store::USED, action, cache);
            figures.library_store = store(
                &home.library_store_dir(),
                fbuild_core::home::LIBRARY_STORE_ENTRY,
                action,
                cache,
            );
            Reply::CacheFigures(Box::new(figures))
        }
        Err((kind, message)) => Reply::Error { kind, message },
    }
}

type Refusal = (ErrorKind, String);

/// One of fbuild's own stores (links and archives; built libraries):
/// cleared with zccache's cache (not with sccache's, whose `clear` is
/// refused); the library store with any.
fn store(dir: &Path, used: &str, action: CacheAction, cache: CacheKind) -> StoreFigures {
    let any = used == fbuild_core::home::LIBRARY_STORE_ENTRY;
    if action == CacheAction::Clear && (cache == CacheKind::Zccache || any) {
        link_store::prune(dir, used, std::time::Duration::ZERO, 0);
    }
    let (entries, size_bytes) = link_store::figures(dir);
    StoreFigures {
        dir: dir.display().to_string(),
        entries,
        size_bytes,
    }
}

fn zccache(svc: &Services, action: CacheAction) -> Result<CacheFigures, Refusal> {
    let home = &svc.settings.home;
    let baseline_file = home.coordinator_dir().join("cache-zero.json");
    let Some(bin) = zccache_bin(svc) else {
        return Ok(CacheFigures {
            cache: "zccache".into(),
            dir: home.zccache_cache_dir().display().to_string(),
            ..CacheFigures::default()
        });
    };
    if action == CacheAction::Clear {
        run::output(
            &crate::zccache::command(&bin, home).arg("clear"),
            ZCCACHE_COMMAND_TIMEOUT,
        )
        .map_err(|e| (ErrorKind::Other, format!("zccache clear: {e}")))?;
    }
    let now = read(&bin, svc);
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if action != CacheAction::Stats {
        let baseline = Baseline {
            figures: now.clone(),
            at_secs: now_secs,
        };
        let text = serde_json::to_vec(&baseline).unwrap_or_default();
        std::fs::write(&baseline_file, text).map_err(|e| {
            (
                ErrorKind::Other,
                format!("writing {}: {e}", baseline_file.display()),
            )
        })?;
    }
    let figures = match std::fs::read(&baseline_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Baseline>(&b).ok())
    {
        Some(base) => now.since(&base.figures, now_secs.saturating_sub(base.at_secs)),
        None => now,
    };
    Ok(figures)
}

/// The zccache this coordinator uses: its decision's, else the managed one
/// when installed.
fn zccache_bin(svc: &Services) -> Option<PathBuf> {
    let chosen = svc.zccache.current().and_then(|c| c.path);
    let managed = crate::zccache::managed_dir(&svc.settings).join(crate::zccache::BIN);
    chosen.or_else(|| managed.is_file().then_some(managed))
}

/// `zccache status --json`'s figures; a daemon that is not up counts
/// nothing.
fn read(bin: &Path, svc: &Services) -> CacheFigures {
    let home = &svc.settings.home;
    match crate::zccache::status_json(bin, home) {
        Ok(json) => CacheFigures::from_zccache(&json["daemon"]),
        Err(_) => CacheFigures {
            cache: "zccache".into(),
            dir: home.zccache_cache_dir().display().to_string(),
            ..CacheFigures::default()
        },
    }
}

fn sccache(svc: &Services, action: CacheAction) -> Result<CacheFigures, Refusal> {
    if action != CacheAction::Stats {
        return Err((
            ErrorKind::Unsupported,
            "with FBUILD_CACHE=sccache, `fbuild cache` shows sccache's figures only: zero them \
             with `sccache --zero-stats`; its storage is cleared where it lives"
                .into(),
        ));
    }
    let stats = svc.status().sccache;
    Ok(CacheFigures {
        cache: "sccache".into(),
        dir: stats
            .as_ref()
            .map(|s| s.location.clone())
            .unwrap_or_default(),
        running: stats.is_some(),
        compiles: Counts {
            hits: stats.as_ref().map_or(0, |s| s.hits),
            misses: stats.as_ref().map_or(0, |s| s.misses),
            non_cacheable: 0,
        },
        ..CacheFigures::default()
    })
}
