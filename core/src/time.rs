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

/// Windows: how much later than the `started` time its info file records
/// (whole seconds, truncated) a coordinator may have been created and
/// still be the one the file describes: rounding and clock only.
pub const START_TOLERANCE: Duration = Duration::from_secs(2);

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

/// What is wrong with a number of seconds a user wrote; the caller's
/// message names the setting or flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSecs {
    #[error("{0:?} is not a number of seconds")]
    NotANumber(String),
    #[error("{0:?} is not a number of seconds from 0 to {MAX_SECS:e}")]
    OutOfRange(String),
}

/// A number of seconds as a user writes it (`600`, `0.5`): finite, from 0
/// to [`MAX_SECS`].
pub fn parse_secs(text: &str) -> Result<Duration, BadSecs> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| BadSecs::NotANumber(text.to_string()))?;
    if !(0.0..=MAX_SECS).contains(&secs) {
        return Err(BadSecs::OutOfRange(text.to_string()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Age after which a split call's temporary file (`one_step::work_dir`)
/// is a killed call's leftover: a live call takes seconds.
pub const ONE_STEP_LEFTOVER_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a refused replacement of a published file (Windows: the old
/// file is open or being deleted) is retried, and how often.
pub const REPLACE_RETRY_WAIT: Duration = Duration::from_secs(2);
pub const REPLACE_RETRY_EVERY: Duration = Duration::from_millis(20);

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

/// Limit for a health check (`zccache --version`, a compiler's `-MP`
/// probe).
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Limit for a toolchain's health check (compile and link an empty program
/// for the board's MCU): a cold avr-gcc link on a loaded 2-core machine
/// takes seconds; a compiler that hangs must not hold every build.
pub const TOOLCHAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a tool's output pipes are read after it exited: a daemon it
/// started may hold them open for its whole life (`zccache start`).
pub const OUTPUT_DRAIN_WAIT: Duration = Duration::from_millis(500);

/// How often a tool run with a limit is asked whether it exited: short
/// next to any tool's run, long enough not to spin.
pub const WAIT_POLL: Duration = Duration::from_millis(5);

/// Backoff bounds of a test program's exit wait after its output ended:
/// it is almost always exiting already, so the first look comes at once.
pub const EXIT_POLL_FIRST: Duration = Duration::from_millis(1);
pub const EXIT_POLL_MAX: Duration = Duration::from_millis(50);

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

/// How long a live zccache daemon may take to answer a ping on its wire
/// before the coordinator starts another.
pub const ZCCACHE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a ping may take when only asking whether a daemon is worth
/// keeping for `FBUILD_ZCCACHE=auto` (a slower one is treated as absent:
/// the answer only picks a default).
pub const ZCCACHE_QUICK_PING: Duration = Duration::from_millis(500);

/// Limit for `sccache --version` and `--show-stats` (answered from a
/// running server in milliseconds).
pub const SCCACHE_STATS_TIMEOUT: Duration = Duration::from_secs(5);

/// Limit for starting sccache's server: it waits for its storage (a
/// remote Redis) before it answers.
pub const SCCACHE_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Connect limit for "is anything listening on sccache's port" (loopback:
/// a listener accepts in microseconds).
pub const SCCACHE_PORT_CONNECT: Duration = Duration::from_millis(500);

/// How long, and how often, to wait for a server a client is starting to
/// answer its statistics.
pub const SCCACHE_STARTING_WAIT: Duration = Duration::from_secs(2);
pub const SCCACHE_STARTING_POLL: Duration = Duration::from_millis(100);

/// How long a killed sccache server may take to be gone (before anyone
/// asks its port again: a client finding a dying server starts its own).
pub const SCCACHE_EXIT_WAIT: Duration = Duration::from_secs(5);

/// Connect and read limits for the Redis check (`PING`): a Redis that does
/// not answer a PING in a second cannot serve a build's compiles either.
pub const REDIS_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the coordinator checks that a Redis it builds with still
/// answers while builds run (one warning per event, not per compile).
pub const REDIS_WATCH_EVERY: Duration = Duration::from_secs(1);

/// Shortest probe of a silent zccache daemon when its silence budget is
/// set below [`ZCCACHE_PING_TIMEOUT`]: the probe never outlasts the
/// silence it follows, but a shorter ping on a loaded machine would call a
/// live daemon wedged.
pub const ZCCACHE_PROBE_FLOOR: Duration = Duration::from_millis(200);

/// Pause before connecting again to a refused or missing zccache socket
/// (a daemon restarting binds it within milliseconds), plus a jitter of up
/// to [`ZCCACHE_RECONNECT_JITTER`] so that parallel shims do not all retry
/// in the same instant.
pub const ZCCACHE_RECONNECT_PAUSE: Duration = Duration::from_millis(5);
pub const ZCCACHE_RECONNECT_JITTER: Duration = Duration::from_millis(20);

/// Backoff bounds of the wait for a held OS file lock: the first look comes
/// almost at once (a holder is usually about to let go), then doubling up
/// to the most, so a long wait does not spin and a release is seen within
/// [`LOCK_POLL_MAX`].
pub const LOCK_POLL_FIRST: Duration = Duration::from_millis(2);
pub const LOCK_POLL_MAX: Duration = Duration::from_millis(50);

/// How often a process being waited for is looked up again: a killed or
/// exiting process is gone within milliseconds, and a look is one read of
/// `/proc`.
pub const GONE_POLL: Duration = Duration::from_millis(10);

/// How long a coordinator killed with SIGKILL may take to be gone: the
/// kernel ends it in milliseconds; one still there after this is stuck in
/// the kernel, and the caller says so instead of hanging.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// The least a duration setting may say (`FBUILD_NOTICE_SECS`,
/// `FBUILD_ZCCACHE_SILENCE_SECS`, `FBUILD_DOWNLOAD_STALL_SECS`): less
/// makes notices, probes and stall checks spin instead of wait.
pub const SETTING_MIN: Duration = Duration::from_millis(100);

/// Time monitors get to close a serial port an upload claims, before the
/// upload goes on: a monitor sees the pause when its read returns, within
/// [`SERIAL_READ_TIMEOUT`].
pub const PORT_RELEASE_WAIT: Duration = Duration::from_millis(300);

/// An upload that never releases its port claim (its uploader died) is
/// released after this: longer than an upload takes, so that a monitor
/// paused by a dead uploader resumes, but never mid-upload.
pub const PORT_CLAIM_TIMEOUT: Duration = Duration::from_secs(180);

/// How long a once-per-build warning stays said (the coordinator's, and a
/// shim's stamp): longer than a build of hundreds of files, which hears it
/// once, short enough that the next build, minutes later, hears it again.
pub const WARNING_WINDOW: Duration = Duration::from_secs(600);

/// How long an entry of the link store (`fbuild_core::link_store`) is
/// kept unused.
pub const LINK_STORE_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A library store entry served to a build is marked used again (its
/// `entry.json` touched, for [`LINK_STORE_MAX_AGE`]'s pruning) when its
/// mark is older than this: not a write on every build.
pub const LIBRARY_STORE_TOUCH: Duration = Duration::from_secs(24 * 3600);

/// A file stamp this recent may hide a second write in the same tick
/// (1–2 s on FAT, HFS+, some network shares): a walk that saw one is not
/// remembered (`builder/src/sources_memo.rs`).
pub const RACY_STAMPS: Duration = Duration::from_secs(2);

/// How long a package index read is reused: a no-op build neither fetches
/// nor parses one; a core released since is seen within minutes.
pub const PACKAGE_INDEX_TTL: Duration = Duration::from_secs(600);

/// How long fetched library metadata is reused: a wave of builds fetches
/// an index (the Arduino one is tens of MB) once; a library released since
/// is seen within minutes.
pub const LIBRARY_INDEX_TTL: Duration = Duration::from_secs(600);

/// An index fetch is shown to its askers as progress once it has taken this
/// long (a registry answer of a few KB says nothing; a slow one must not
/// leave its clients in silence).
pub const LIBRARY_INDEX_QUIET: Duration = Duration::from_secs(1);

/// Byte counts of an install are sent to its followers at most this often:
/// a download moves on every chunk, and ten updates a second keep a
/// progress bar smooth without flooding every client.
pub const INSTALL_BYTES_EVERY: Duration = Duration::from_millis(100);

/// Pause after a failed accept (EMFILE and friends) instead of spinning;
/// short, so that a connection is taken as soon as a descriptor frees.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// How long the coordinator's runtime gets to stop its tasks at exit. The
/// requests are drained by then (or given up after [`SHUTDOWN_GRACE`]);
/// what is left is background work, which must not delay the exit that a
/// successor or [`SHUTDOWN_WAIT`] is waiting for.
pub const RUNTIME_STOP_WAIT: Duration = Duration::from_millis(200);

/// A shim blocked on an install says so first after this (then once per
/// `FBUILD_NOTICE_SECS`): a plan that comes sooner is not worth a line.
pub const FIRST_NOTICE: Duration = Duration::from_secs(1);

/// Budget of a shim's best-effort report that zccache failed: a running
/// coordinator takes it at once, and the compile, about to run with the
/// real tool, must not wait long on one that is wedged.
pub const FAILURE_REPORT_BUDGET: Duration = Duration::from_secs(2);

/// How long a shim trusts a remembered plan: a build still talks to the
/// coordinator every few seconds (which keeps it alive and re-checking
/// zccache's daemon), and nothing stale lives long.
pub const REMEMBERED_PLAN_AGE: Duration = Duration::from_secs(5);

/// How long a monitor waits for bytes before it looks at Ctrl-C and its
/// `--timeout` again: both are honoured within this.
pub const MONITOR_TICK: Duration = Duration::from_millis(100);

/// How often a monitor paused by an upload looks whether the port is
/// released: it reopens the port within this after the upload.
pub const MONITOR_PAUSE_POLL: Duration = Duration::from_millis(50);

/// How long a board may take to come back on USB after a reset (an
/// upload's, or the 1200-baud touch into its bootloader) before the user
/// is told: re-enumerating takes seconds, not tens of seconds.
pub const BOARD_RETURN_WAIT: Duration = Duration::from_secs(10);

/// How often a serial port that is not back yet is tried again.
pub const SERIAL_REOPEN_POLL: Duration = Duration::from_millis(200);

/// A serial read returns after this without bytes (the raw fallback's
/// `VTIME` of 2 tenths says the same), so that a paused monitor closes its
/// port within [`PORT_RELEASE_WAIT`].
pub const SERIAL_READ_TIMEOUT: Duration = Duration::from_millis(200);

/// How often an install's progress bar is redrawn when no bytes come: its
/// rate and time left stay live.
pub const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// Without a terminal, a download's byte count is printed at most this
/// often: a log gets a line per second, not one per chunk.
pub const PROGRESS_LINE_EVERY: Duration = Duration::from_secs(1);

/// How long compiles wait for the cache route before starting uncached: a
/// running coordinator answers in about a millisecond; a fresh one
/// starting zccache's daemon takes ~150 ms, which the first compiles do
/// not wait for.
pub const CACHE_ROUTE_WAIT: Duration = Duration::from_millis(30);

/// How long a monitor waits for the coordinator to register its port lease
/// before opening the port anyway (unleased): a running coordinator answers
/// in milliseconds; a monitor must not be held by one that is slow to
/// start.
pub const LEASE_REGISTER_WAIT: Duration = Duration::from_secs(3);

/// Open limit of the 1200-baud touch (open and close the port: a board
/// that resets on it does so whatever the limit).
pub const TOUCH_OPEN_TIMEOUT: Duration = Duration::from_millis(100);

/// After a 1200-baud touch: time for the board to drop off the bus before
/// the port list is read (the old port is still listed for a moment), and
/// how often the list is read again.
pub const PORT_DROP_WAIT: Duration = Duration::from_millis(300);
pub const PORT_LIST_POLL: Duration = Duration::from_millis(100);

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
            let err = parse_secs(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }
}
