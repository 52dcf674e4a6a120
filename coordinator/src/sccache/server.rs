//! sccache's server as the coordinator runs it: `sccache` commands with the
//! home's environment (`super::exec_env`; the user's `SCCACHE_*` storage
//! settings inherited), started when it does not answer, on the local
//! cache alone when the remote storage makes it fail, and its statistics
//! (`--show-stats --stats-format json`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fbuild_core::Home;

use crate::process::output_with_timeout;

/// How long a `--show-stats` may take.
const STATS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server start may take (sccache waits for its storage).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the server stores, and why (for `daemon status`).
pub struct Storage {
    pub location: String,
    pub reason: String,
    /// The remote storage failed the start: local cache only.
    pub local_only: bool,
}

/// What `fbuild daemon status` shows of sccache.
pub type Stats = fbuild_core::protocol::SccacheStats;

fn command(bin: &Path, home: &Home) -> Command {
    let mut cmd = Command::new(bin);
    cmd.envs(super::exec_env(home));
    let dir = home.tools_dir().join("sccache-cache");
    let _ = std::fs::create_dir_all(&dir);
    cmd.current_dir(dir);
    cmd
}

pub fn check_version(bin: &Path, want: &str) -> Result<(), String> {
    let out = output_with_timeout(Command::new(bin).arg("--version"), STATS_TIMEOUT)?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().nth(1) {
        Some(v) if v == want => Ok(()),
        Some(v) => Err(format!("{} is version {v}, expected {want}", bin.display())),
        None => Err(format!("{} --version printed {text:?}", bin.display())),
    }
}

/// The server's statistics, if it answers. Nothing listening on its port:
/// not asked (`sccache --show-stats` would start a server itself, with
/// whatever storage the environment names).
pub fn stats(bin: &Path, home: &Home) -> Result<Stats, String> {
    let port = super::port(home);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
        return Err(format!("no sccache server on port {port}"));
    }
    let mut cmd = command(bin, home);
    // A client: if the server went just now, one it starts is local.
    cmd.envs(super::client_env(home));
    cmd.args(["--show-stats", "--stats-format", "json"]);
    let out = output_with_timeout(&mut cmd, STATS_TIMEOUT)?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Stats::parse(&out.stdout).ok_or_else(|| "sccache printed no JSON stats".to_string())
}

/// The server answers, or is started: with the user's storage, else (a
/// remote that fails it) on the local cache alone.
pub fn ensure(bin: &Path, home: &Home) -> Result<Storage, String> {
    let remote: Vec<&str> = super::REMOTE_VARS
        .iter()
        .copied()
        .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
        .collect();
    // A Redis that does not answer makes sccache's server half-start: it
    // shows stats but every compile times out (measured, 0.16.0). Redis is
    // asked first (once); the other storages are trusted to fail the start
    // cleanly.
    let down = redis_unreachable();
    if let Ok(s) = stats(bin, home) {
        // A local server while a remote storage is meant and answers (a
        // client started it, or the remote is back): replaced.
        let local = s.location.starts_with("Local disk");
        if !(local && !remote.is_empty() && down.is_none()) {
            let local_only = local && !remote.is_empty();
            return Ok(Storage {
                reason: match (local_only, down) {
                    (true, Some(why)) => local_reason(&remote, &why),
                    _ => "sccache's server is up".into(),
                },
                local_only,
                location: s.location,
            });
        }
        kill(bin, home);
    }
    let first = match &down {
        Some(why) => Err(why.clone()),
        None => start(bin, home, false),
    };
    match first {
        Ok(()) => {
            let location = stats(bin, home).map(|s| s.location).unwrap_or_default();
            Ok(Storage {
                reason: "started sccache's server".into(),
                local_only: false,
                location,
            })
        }
        Err(why) if !remote.is_empty() => {
            tracing::warn!(
                "sccache's server failed with the remote storage ({why}); starting it on the local cache"
            );
            // A server left half-started by the failed attempt holds the port.
            stop(bin, home);
            start(bin, home, true)?;
            let location = stats(bin, home).map(|s| s.location).unwrap_or_default();
            Ok(Storage {
                reason: local_reason(&remote, &why),
                local_only: true,
                location,
            })
        }
        Err(why) => Err(why),
    }
}

pub fn start(bin: &Path, home: &Home, local_only: bool) -> Result<(), String> {
    let mut cmd = command(bin, home);
    cmd.arg("--start-server");
    if local_only {
        for v in super::REMOTE_VARS {
            cmd.env_remove(v);
        }
    }
    let out = output_with_timeout(&mut cmd, START_TIMEOUT)?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .trim()
            .trim_start_matches("sccache: error: ")
            .to_string())
    }
}

/// Why a remote storage is not used, and until when.
fn local_reason(remote: &[&str], why: &str) -> String {
    format!(
        "the remote cache ({}) is unreachable ({why}): sccache runs on its local cache under \
         FBUILD_HOME, sharing nothing until the remote answers again (checked at the next \
         build after 10 s)",
        remote.join(", ")
    )
}

pub fn stop(bin: &Path, home: &Home) {
    let mut cmd = command(bin, home);
    cmd.arg("--stop-server");
    let _ = output_with_timeout(&mut cmd, STATS_TIMEOUT);
}

/// Why the Redis of `SCCACHE_REDIS_ENDPOINT`/`SCCACHE_REDIS` cannot be
/// reached (a TCP connect within a second), if one is set and cannot.
pub fn redis_unreachable() -> Option<String> {
    let url = ["SCCACHE_REDIS_ENDPOINT", "SCCACHE_REDIS"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|x| !x.is_empty()))?;
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let addr = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:6379")
    };
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Some(format!("{url}: {e}")),
    };
    let reached = addrs
        .iter()
        .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok());
    (!reached).then(|| format!("{url} does not answer"))
}

/// Kills the server of this home at once (`--stop-server` waits for the
/// compiles in flight, which a dead Redis holds for a minute each): its
/// clients see it go and compile locally (measured, 0.16.0). The server is
/// the process of this binary with this home's port and sccache's
/// `SCCACHE_START_SERVER=1` in its environment (its clients lack it).
pub fn kill(bin: &Path, home: &Home) {
    let port = format!("SCCACHE_SERVER_PORT={}", super::port(home));
    let exe = bin.as_os_str().as_encoded_bytes().to_vec();
    for pid in fbuild_core::procs::pids_where(|argv| argv.first() == Some(&exe)) {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let has = |want: &[u8]| environ.split(|b| *b == 0).any(|kv| kv == want);
        // The server, not a client (a compile) of it: sccache marks it.
        if has(port.as_bytes()) && has(b"SCCACHE_START_SERVER=1") {
            // SAFETY: kill(2) on a server of this home's sccache.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            // Gone before anyone asks the port again (a client finding a
            // dying server starts one of its own).
            fbuild_core::procs::wait_gone(pid, Duration::from_secs(5));
        }
    }
}
