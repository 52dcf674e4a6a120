//! sccache's server as the coordinator runs it: `sccache` commands with the
//! home's environment (`super::exec_env`; the user's `SCCACHE_*` storage
//! settings inherited), started when it does not answer, on the local
//! cache alone when the remote storage makes it fail, and its statistics
//! (`--show-stats --stats-format json`).

use std::path::Path;

use fbuild_core::Home;
use fbuild_core::time::{
    REDIS_CHECK_TIMEOUT, SCCACHE_EXIT_WAIT, SCCACHE_PORT_CONNECT, SCCACHE_START_TIMEOUT,
    SCCACHE_STARTING_POLL, SCCACHE_STARTING_WAIT, SCCACHE_STATS_TIMEOUT as STATS_TIMEOUT,
};
use fbuild_core::tool::{Tool, cache_env, run};

/// Where the server stores, and why (for `daemon status`).
pub struct Storage {
    pub location: String,
    pub reason: String,
    /// The remote storage failed the start: local cache only.
    pub local_only: bool,
}

/// What `fbuild daemon status` shows of sccache.
pub type Stats = fbuild_core::protocol::SccacheStats;

/// `sccache …` as the coordinator runs it: the cache tool's daemon rules
/// (`fbuild_core::tool::cache_env`: a long-lived server must not keep a
/// build's jobserver or find fbuild's shims on PATH), the home's
/// [`super::exec_env`], its cache folder as cwd.
fn command(bin: &Path, home: &Home) -> Tool {
    let dir = home.tools_dir().join("sccache-cache");
    let _ = std::fs::create_dir_all(&dir);
    cache_env::daemon(Tool::new(bin), &home.shims_dir())
        .envs(super::exec_env(home))
        .current_dir(dir)
}

/// Runs an sccache command with a limit; the run's failure as text.
fn output(tool: &Tool, limit: std::time::Duration) -> Result<std::process::Output, String> {
    run::output(tool, limit).map_err(|e| e.to_string())
}

pub fn check_version(bin: &Path, want: &str) -> Result<(), String> {
    let out = output(&Tool::new(bin).arg("--version"), STATS_TIMEOUT)?;
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
    if std::net::TcpStream::connect_timeout(&addr, SCCACHE_PORT_CONNECT).is_err() {
        return Err(format!("no sccache server on port {port}"));
    }
    // A client: if the server went just now, one it starts is local.
    let cmd = command(bin, home).envs(super::client_env(home)).args([
        "--show-stats",
        "--stats-format",
        "json",
    ]);
    let out = output(&cmd, STATS_TIMEOUT)?;
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
    let down = redis_problem();
    let mut first;
    let mut attempts = 0;
    loop {
        attempts += 1;
        if let Ok(s) = stats(bin, home) {
            // A local server while a remote storage is meant and answers (a
            // client started it, or the remote is back): replaced.
            let local = s.location.starts_with("Local disk");
            if !(local && !remote.is_empty() && down.is_none()) {
                let local_only = local && !remote.is_empty();
                return Ok(Storage {
                    reason: match (local_only, &down) {
                        (true, Some(why)) => local_reason(&remote, why),
                        _ => "sccache's server is up".into(),
                    },
                    local_only,
                    location: s.location,
                });
            }
            kill(bin, home);
        }
        first = match &down {
            Some(why) => Err(why.clone()),
            None => start(bin, home, false),
        };
        // A compile's client started a (local) server on the port between
        // the look and the start (seen under load): look again, once.
        let taken = matches!(&first, Err(why) if why.contains("Address in use"));
        if !taken || attempts > 1 {
            break;
        }
        wait_for_stats(bin, home);
    }
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
            match down {
                Some(_) => tracing::warn!(
                    "the remote storage cannot be used ({why}); starting sccache's server on the \
                     local cache"
                ),
                None => tracing::warn!(
                    "sccache's server failed with the remote storage ({why}); starting it on the \
                     local cache"
                ),
            }
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

/// Waits (a little) for the server a client is starting to answer.
fn wait_for_stats(bin: &Path, home: &Home) {
    let deadline = std::time::Instant::now() + SCCACHE_STARTING_WAIT;
    while std::time::Instant::now() < deadline {
        if stats(bin, home).is_ok() {
            return;
        }
        std::thread::sleep(SCCACHE_STARTING_POLL);
    }
}

pub fn start(bin: &Path, home: &Home, local_only: bool) -> Result<(), String> {
    let mut cmd = command(bin, home).arg("--start-server");
    if local_only {
        for v in super::REMOTE_VARS {
            cmd = cmd.env_remove(v);
        }
    }
    let out = output(&cmd, SCCACHE_START_TIMEOUT)?;
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
        "the remote cache ({}) cannot be used ({why}): sccache runs on its local cache under \
         FBUILD_HOME, sharing nothing until the remote can be used again (checked at the next \
         build after 10 s)",
        remote.join(", ")
    )
}

pub fn stop(bin: &Path, home: &Home) {
    let _ = output(&command(bin, home).arg("--stop-server"), STATS_TIMEOUT);
}

/// Why the Redis of `SCCACHE_REDIS_ENDPOINT`/`SCCACHE_REDIS` cannot be
/// used, if one is set: it must answer a `PING` (after `AUTH` with the
/// credentials sccache would use: `SCCACHE_REDIS_USERNAME`/`_PASSWORD`
/// for the endpoint, the URL's for `SCCACHE_REDIS`) within a second.
/// Seen: a Redis that wants a password, given none, answered the TCP
/// connect, so the server was started on it and hung 20 s, four times in a
/// build.
pub fn redis_problem() -> Option<String> {
    let var = |v: &str| std::env::var(v).ok().filter(|x| !x.is_empty());
    let (url, endpoint) = match var("SCCACHE_REDIS_ENDPOINT") {
        Some(url) => (url, true),
        None => (var("SCCACHE_REDIS")?, false),
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url.as_str()));
    let (in_url, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, rest),
    };
    // `user@host` names a user without a password: no AUTH, as sccache's
    // Redis client reads a URL (whose parts are percent-decoded).
    let credentials = match (endpoint, var("SCCACHE_REDIS_PASSWORD")) {
        (true, Some(password)) => {
            Some((var("SCCACHE_REDIS_USERNAME").unwrap_or_default(), password))
        }
        (true, None) => None,
        (false, _) => in_url.as_deref().and_then(url_credentials),
    };
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
    let Some(conn) = addrs
        .iter()
        .find_map(|a| std::net::TcpStream::connect_timeout(a, REDIS_CHECK_TIMEOUT).ok())
    else {
        return Some(format!("{url} does not answer"));
    };
    // TLS (`rediss://`) is sccache's to speak: that it answers is enough.
    if scheme.eq_ignore_ascii_case("rediss") {
        return None;
    }
    let advice = if endpoint {
        "set SCCACHE_REDIS_PASSWORD (and SCCACHE_REDIS_USERNAME for a user other than default)"
    } else {
        "give it in the URL, redis://:PASSWORD@host:port"
    };
    match redis_ping(conn, credentials.as_ref()) {
        Ok(()) => None,
        Err(Ping::NoAuth) => Some(format!("{url} wants a password: {advice}")),
        Err(Ping::Refused) => Some(format!("{url} refused the password: {advice}")),
        Err(Ping::Other(why)) => Some(format!("{url} {why}")),
    }
}

/// The `(user, password)` of a URL's `user:password` part; none for a user
/// alone or an empty password (no AUTH, as sccache's client).
fn url_credentials(userinfo: &str) -> Option<(String, String)> {
    let (user, password) = userinfo.split_once(':')?;
    let password = percent_decoded(password);
    (!password.is_empty()).then(|| (percent_decoded(user), password))
}

/// `%XX` escapes of a URL's user or password put back.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a Redis said to `PING`.
enum Ping {
    NoAuth,
    Refused,
    Other(String),
}

/// `AUTH` (with `(user, password)`, the user empty for the default one)
/// and `PING` on `conn`, in Redis's protocol; what is wrong, if anything.
fn redis_ping(
    conn: std::net::TcpStream,
    credentials: Option<&(String, String)>,
) -> Result<(), Ping> {
    use std::io::{BufRead, Write};
    let timeout = Some(REDIS_CHECK_TIMEOUT);
    let _ = conn.set_read_timeout(timeout);
    let _ = conn.set_write_timeout(timeout);
    let command = |parts: &[&str]| {
        let mut out = format!("*{}\r\n", parts.len());
        for p in parts {
            out.push_str(&format!("${}\r\n{p}\r\n", p.len()));
        }
        out
    };
    let mut request = String::new();
    if let Some((user, password)) = credentials {
        request.push_str(&match user.as_str() {
            "" => command(&["AUTH", password]),
            user => command(&["AUTH", user, password]),
        });
    }
    request.push_str(&command(&["PING"]));
    (&conn)
        .write_all(request.as_bytes())
        .map_err(|e| Ping::Other(format!("does not answer ({e})")))?;
    let mut reader = std::io::BufReader::new(&conn);
    for _ in 0..1 + usize::from(credentials.is_some()) {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| Ping::Other(format!("does not answer ({e})")))?;
        let line = line.trim_end();
        if line.starts_with("-NOAUTH") {
            return Err(Ping::NoAuth);
        }
        if line.starts_with("-WRONGPASS") || line.contains("invalid password") {
            return Err(Ping::Refused);
        }
        if line.is_empty() {
            return Err(Ping::Other("does not answer".into()));
        }
        if line.starts_with('-') {
            return Err(Ping::Other(format!("answered {line}")));
        }
    }
    Ok(())
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
            // A server of this home's sccache.
            fbuild_core::procs::kill(pid);
            // Gone before anyone asks the port again (a client finding a
            // dying server starts one of its own).
            fbuild_core::procs::wait_gone(pid, SCCACHE_EXIT_WAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_a_redis_url() {
        let pair = |u: &str, p: &str| Some((u.to_string(), p.to_string()));
        assert_eq!(url_credentials(":secret"), pair("", "secret"));
        assert_eq!(url_credentials("alice:p%40ss%3Aw"), pair("alice", "p@ss:w"));
        assert_eq!(url_credentials("alice"), None);
        assert_eq!(url_credentials("alice:"), None);
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz%41"), "%zzA");
    }
}
