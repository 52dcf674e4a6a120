//! Test harness: a private `FBUILD_HOME` per test, the real binaries, and
//! cleanup of every coordinator the test started (found by its command line,
//! which names the home).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fbuild_client::Client;
use fbuild_core::Settings;

pub const FBUILD: &str = env!("CARGO_BIN_EXE_fbuild");
pub const COORDINATOR: &str = env!("CARGO_BIN_EXE_fbuild-coordinator");

pub struct TestHome {
    _dir: tempfile::TempDir,
    home: PathBuf,
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fbuild-test-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        TestHome { _dir: dir, home }
    }

    /// A home whose coordinator dir is too deep for a Unix socket path.
    pub fn deep() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fbuild-test-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("d".repeat(60)).join("e".repeat(60));
        TestHome { _dir: dir, home }
    }

    pub fn path(&self) -> &Path {
        &self.home
    }

    /// `fbuild` with this home and a clean fbuild environment (none of
    /// the test's own FBUILD_* variables).
    pub fn fbuild(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(FBUILD);
        without_fbuild_vars(&mut cmd)
            .args(args)
            .env("FBUILD_HOME", &self.home)
            .env("FBUILD_IDLE_SECS", "120");
        cmd
    }

    /// Runs `fbuild args…` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.fbuild(args).output().expect("run fbuild")
    }

    /// `fbuild daemon start`, asserting success; returns the pid printed.
    pub fn start(&self) -> u32 {
        parse_pid(&self.run(&["daemon", "start"]))
    }

    /// `fbuild daemon start` with extra environment for the coordinator.
    pub fn start_with(&self, env: &[(&str, &str)]) -> u32 {
        let mut cmd = self.fbuild(&["daemon", "start"]);
        cmd.envs(env.iter().copied());
        parse_pid(&cmd.output().expect("run fbuild"))
    }

    /// `fbuild daemon status --json`, parsed (`running: false` when none).
    pub fn status_json(&self) -> serde_json::Value {
        let out = self.run(&["daemon", "status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("status json: {e}: {}", String::from_utf8_lossy(&out.stdout))
        })
    }

    /// A library client for this home using the freshly built coordinator.
    pub fn client(&self) -> Client {
        self.client_with(&[])
    }

    /// A client whose environment also has `env` (per-build settings such
    /// as FBUILD_ZCCACHE travel with its requests).
    pub fn client_with(&self, env: &[(&str, &str)]) -> Client {
        let home = self.home.clone();
        let settings = Settings::from_vars(|k| match k {
            "FBUILD_HOME" => Some(home.clone().into_os_string()),
            "FBUILD_IDLE_SECS" => Some("120".into()),
            _ => env
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.into()),
        })
        .expect("settings");
        Client::new(settings).with_coordinator_bin(clean_coordinator())
    }

    /// Live (non-zombie) coordinator processes serving this home.
    pub fn coordinator_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|pid| fbuild_client::procs::serves_home(*pid, &self.home))
            .filter(|pid| fbuild_client::procs::is_alive(*pid))
            .collect();
        pids.sort();
        pids
    }
}

impl Drop for TestHome {
    /// Stops what the test's coordinators started, then the daemons. A
    /// coordinator's helper still running (a `zccache start`, in the
    /// coordinator's process group) would otherwise go on after it: seen
    /// in CI, a `zccache start` that finished after this looked for daemons
    /// spawned one that outlived its test. So each coordinator goes with
    /// its whole group, the groups are waited for, and only then are the
    /// daemons looked for.
    fn drop(&mut self) {
        // SAFETY: getpgrp(2) has no failure and no side effect.
        let ours = unsafe { libc::getpgrp() } as u32;
        let pids = self.coordinator_pids();
        // A coordinator a test started itself shares the test's group:
        // that one goes alone.
        for &pid in &pids {
            if process_group(pid) == Some(ours) {
                kill(pid, libc::SIGKILL);
                fbuild_client::procs::wait_gone(pid, Duration::from_secs(2));
            }
        }
        let groups: Vec<u32> = pids
            .into_iter()
            .filter_map(process_group)
            .filter(|group| *group != ours)
            .collect();
        for &group in &groups {
            // SAFETY: kill(2) on the process group of a coordinator this
            // test's home started (its session's group: nothing else).
            unsafe {
                libc::kill(-(group as libc::pid_t), libc::SIGKILL);
            }
        }
        for group in groups {
            wait_for(Duration::from_secs(5), || group_members(group) == 0);
        }
        for pid in zccache_daemon_pids(&self.home) {
            kill(pid, libc::SIGKILL);
            fbuild_client::procs::wait_gone(pid, Duration::from_secs(2));
        }
    }
}

/// `pid`'s process group (Linux: /proc), unless it is gone.
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's `)`: state, parent, group.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// How many live processes are in process group `group`.
fn group_members(group: u32) -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_group(*pid) == Some(group) && alive(*pid))
        .count()
}

/// `cmd` without any FBUILD_* (or PlatformIO's PLATFORMIO_*, which a
/// build reads too) variable of the test's own environment.
pub fn without_fbuild_vars(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        let k_text = k.to_string_lossy();
        if k_text.starts_with("FBUILD_") || k_text.starts_with("PLATFORMIO_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// `Command::new(program)` without the test's own FBUILD_* variables: for
/// our binaries, the shims, and whatever runs them (make, cmake, scripts).
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    without_fbuild_vars(&mut cmd);
    cmd
}

/// Settings from this process's environment reading only `names` (for a
/// worker process whose environment its test set): none of the
/// developer's other FBUILD_* variables.
pub fn settings_of(names: &[&str]) -> Settings {
    Settings::from_vars(|k| names.contains(&k).then(|| std::env::var_os(k)).flatten())
        .expect("settings")
}

/// `fbuild-coordinator` behind a script that drops this process's own
/// FBUILD_* variables (a coordinator that an in-process client spawns
/// inherits this process's environment) but the spawn's readiness fd, and
/// sets FBUILD_IDLE_SECS=120 as [`TestHome::fbuild`] does.
fn clean_coordinator() -> &'static Path {
    static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join("fbuild-coordinator-clean-env");
        let ready = fbuild_core::settings::READY_FD_VAR;
        let text = format!(
            "#!/bin/sh\n\
             for v in $(env | sed -n 's/^\\(FBUILD_[A-Za-z0-9_]*\\)=.*/\\1/p'); do\n\
             \x20 [ \"$v\" = {ready} ] || unset \"$v\"\n\
             done\n\
             export FBUILD_IDLE_SECS=120\n\
             exec '{COORDINATOR}' \"$@\"\n"
        );
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return path;
        }
        // Written aside and renamed: test binaries running at once share it.
        let tmp = dir.join(format!(
            "fbuild-coordinator-clean-env.{}",
            std::process::id()
        ));
        std::fs::write(&tmp, text).expect("write the coordinator script");
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::rename(&tmp, &path).expect("install the coordinator script");
        path
    })
}

pub fn parse_pid(out: &Output) -> u32 {
    assert!(
        out.status.success(),
        "fbuild failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {:?}", String::from_utf8_lossy(&out.stdout)))
}

pub fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

pub fn alive(pid: u32) -> bool {
    fbuild_client::procs::is_alive(pid)
}

/// How long a test waits for something that normally takes a second or
/// less, before it fails: generous for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits up to [`PATIENCE`] for `cond`, failing the test with `what` (what
/// it waited for) if it never holds.
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    assert!(wait_for(PATIENCE, cond), "waited {PATIENCE:?} for {what}");
}

/// Polls `cond` until true or `timeout`; returns whether it became true.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub mod arduino_builder;
pub mod hostile;
pub mod http;
pub mod libfix;
pub mod output;
#[allow(unused_imports)]
pub use output::{first_compile, interleaved, python_reads, said, size_used};
pub mod pty;
pub mod shims;
pub mod simduino;
pub mod wine;
mod wine_prefix;

/// The zccache release mirror built from the wheel (scripts/mirror-zccache),
/// shared by all tests of this build.
pub fn zccache_mirror() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zccache-mirror");
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/mirror-zccache"
    ))
    .arg(&dir)
    .output()
    .expect("run scripts/mirror-zccache");
    assert!(
        out.status.success(),
        "mirror-zccache failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

pub const ZCCACHE_VERSION: &str = "1.15.8";

pub fn zccache_asset() -> String {
    let arch = if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        "x86_64"
    };
    format!("zccache-v{ZCCACHE_VERSION}-{arch}-unknown-linux-musl.tar.gz")
}

/// Staging or broken dirs left in `tools/`.
pub fn leftovers(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("tools"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".staging-") || n.contains(".broken-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Live zccache daemons and sccache servers whose state is under `home`
/// (killed with the test's coordinators).
pub fn zccache_daemon_pids(home: &Path) -> Vec<u32> {
    let home = home.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let cmd = String::from_utf8_lossy(&raw);
            // zccache's daemon, or sccache's server (its binary under the home).
            (cmd.contains("--endpoint") || cmd.contains("/tools/sccache-")) && cmd.contains(&home)
        })
        .filter(|pid| fbuild_client::procs::is_alive(*pid))
        .collect()
}

pub mod project;

/// `file://` URL of the zccache mirror (fast installs for tests that are not
/// about the download).
pub fn mirror_url() -> String {
    format!("file://{}", zccache_mirror().display())
}

/// A copy of `examples/<name>` in a temp dir (tests never write into the repo).
pub fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    copy_tree(&src, dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == ".fbuild" {
            continue;
        }
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

impl TestHome {
    /// `fbuild build <dir> args…` without zccache (`FBUILD_ZCCACHE=off`).
    #[allow(dead_code)]
    pub fn build_uncached(&self, dir: &Path, args: &[&str]) -> Output {
        let mut all = vec!["build", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        self.fbuild(&all)
            .env("FBUILD_ZCCACHE", "off")
            .output()
            .expect("run fbuild build")
    }

    /// `fbuild build <dir> args…` with the zccache mirror; returns output.
    pub fn build(&self, dir: &Path, args: &[&str]) -> Output {
        let mut all = vec!["build", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        self.fbuild(&all)
            .env("FBUILD_ZCCACHE_URL", mirror_url())
            .output()
            .expect("run fbuild build")
    }
}

/// Starts every command at once (stdout and stderr captured), waits for
/// all, and asserts each succeeded.
#[allow(dead_code)]
pub fn all_succeed_at_once(commands: impl IntoIterator<Item = Command>) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
}

/// Asserts that a command succeeded, showing its output when not.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestHome {
    /// `fbuild install zccache` from the release mirror at `url`.
    pub fn install_zccache(&self, url: &str) -> Output {
        self.fbuild(&["install", "zccache"])
            .env("FBUILD_ZCCACHE_URL", url)
            .output()
            .expect("run fbuild install")
    }
}

/// The sha256 of a file, by `sha256sum` (not the code under test).
pub fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Command lines of the processes that mention `needle` (Linux `/proc`).
pub fn processes_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(needle).then_some(cmd)
        })
        .collect()
}
