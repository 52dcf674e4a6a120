//! Every timeout and interval of the coordinator and its clients, each with
//! the reason for its value. Change them here, nowhere else.

use std::time::Duration;

/// How long a client waits for a freshly spawned coordinator to say it is
/// ready. A cold start takes a few milliseconds; the margin covers a loaded
/// 2-core CI machine and a coordinator that first waits for an exiting
/// predecessor's singleton lock (see [`SINGLETON_LOCK_WAIT`]).
pub const SPAWN_READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a client waits for the spawn lock held by another client that is
/// starting the coordinator. Longer than [`SPAWN_READY_TIMEOUT`] so a waiter
/// never gives up while the winner can still succeed.
pub const SPAWN_LOCK_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a starting coordinator waits for the singleton lock. Needed when
/// it replaces an older coordinator that is still finishing its in-flight
/// requests; bounded so a stuck predecessor cannot hang the start.
pub const SINGLETON_LOCK_WAIT: Duration = Duration::from_secs(8);

/// How long an old coordinator may take to finish in-flight requests after a
/// shutdown request before it exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a client waits for a coordinator it asked to shut down to be gone
/// before it ends the process itself: longer than the coordinator's own
/// worst case (drain [`SHUTDOWN_GRACE`], then stop zccache's daemon within
/// [`ZCCACHE_STOP_TIMEOUT`]), so a graceful exit is never cut short.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// Connect timeout for the local socket. A healthy coordinator accepts in
/// microseconds; a full backlog means it is wedged.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default budget for "no byte at all" on a request. A live coordinator sends
/// at least a heartbeat per [`HEARTBEAT_INTERVAL`] while it works, so silence
/// this long means it is dead or wedged (then a ping on a fresh connection
/// decides).
pub const REQUEST_BUDGET: Duration = Duration::from_secs(10);

/// How long the liveness ping after a silent request may take.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the coordinator waits for a client to send its one request line.
/// A client that connects and stalls must not keep the coordinator alive.
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval of heartbeat events on a request that is in flight: every client
/// blocked on work hears from the coordinator at least this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// How often a coordinator checks that its home's lock and socket are
/// still the ones it holds (a home removed under it is served by another
/// coordinator at once: it then leaves).
pub const OWNERSHIP_CHECK: Duration = Duration::from_secs(2);

/// Default idle time before the coordinator exits (`FBUILD_IDLE_SECS`).
pub const DEFAULT_IDLE: Duration = Duration::from_secs(600);

/// Default interval of a blocked shim's notices (`FBUILD_NOTICE_SECS`).
pub const DEFAULT_NOTICE: Duration = Duration::from_secs(5);

/// Default silence from zccache's daemon before a compile through its
/// wire probes it (`FBUILD_ZCCACHE_SILENCE_SECS`): a live daemon answers
/// or signals backpressure well within it.
pub const DEFAULT_ZCCACHE_SILENCE: Duration = Duration::from_secs(10);

/// The most seconds a duration setting or flag may say: about 31 years,
/// "never" for every purpose here, and far from where adding it to a
/// clock reading overflows. (`Duration::from_secs_f64(1e20)` panics: seen
/// as `FBUILD_IDLE_SECS=1e20` making every binary, the shims included,
/// exit 101.)
pub const MAX_SECS: f64 = 1e9;

/// A number of seconds as a user writes it (`600`, `0.5`): finite, from 0
/// to [`MAX_SECS`]. The error says what was wrong with `text`, for a
/// message that names the setting or flag.
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=MAX_SECS).contains(&secs) {
        return Err(format!(
            "{text:?} is not a number of seconds from 0 to {MAX_SECS:e}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Bounds of the jittered backoff before the one retry after a transport
/// failure: jitter spreads 64 clients that failed together.
pub const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(20);
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_millis(120);

/// Connect timeout for downloads. A reachable mirror answers in well under
/// a second; an unreachable one must not hold up a build's fallback long.
pub const DOWNLOAD_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for a download's response headers.
pub const DOWNLOAD_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default longest silence within a download (`FBUILD_DOWNLOAD_STALL_SECS`):
/// no byte for this long is a failed attempt (seen: a stalled mirror held
/// a build for 20 minutes of silence, then again for the retry).
pub const DEFAULT_DOWNLOAD_STALL: Duration = Duration::from_secs(30);

/// Limit for receiving a whole download body that keeps trickling:
/// generous enough for a 40 MB toolchain on a slow link.
pub const DOWNLOAD_BODY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How often a watched helper command (a `git clone`) is asked whether to
/// go on, and how often the folder it writes is measured.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);
pub const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// Pause before the one retry of a transient network failure.
pub const DOWNLOAD_RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// How long a failed install is remembered: requests in this window get the
/// failure at once instead of each hitting the network again (a thousand
/// compiles must not each retry a dead mirror).
pub const FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// How long a waiter waits for another process's install lock.
pub const INSTALL_LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

/// Limit for a health check (`zccache --version`, a toolchain probe).
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// A verified install is re-checked after this long even if its files look
/// unchanged (a changed size or mtime triggers a re-check at once).
pub const HEALTH_RECHECK: Duration = Duration::from_secs(300);

/// How long a resolved zccache choice (binary + answering daemon) is reused
/// before the daemon is asked again.
pub const ZCCACHE_RECHECK: Duration = Duration::from_secs(10);

/// Limit for `zccache stop`. Measured: it sometimes takes 10 s and leaves
/// the daemon running anyway, so after this the daemon is killed by pid.
pub const ZCCACHE_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Limit for one `zccache start|status` call.
pub const ZCCACHE_COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_and_bounded() {
        assert_eq!(parse_secs("600"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_secs(" 0.25 "), Ok(Duration::from_millis(250)));
        assert_eq!(parse_secs("0"), Ok(Duration::ZERO));
        assert_eq!(parse_secs("1e9"), Ok(Duration::from_secs(1_000_000_000)));
        for bad in [
            "1e20", "inf", "-inf", "nan", "NaN", "-1", "abc", "", "1e9.1", "0x10",
        ] {
            let err = parse_secs(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }
}
