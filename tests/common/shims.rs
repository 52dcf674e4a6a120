//! A test home's shims and its managed zccache: making the shims,
//! running one as a build would, reading zccache's counters; real tools
//! behind the shims that log each call.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{TestHome, ZCCACHE_VERSION, clean_command, mirror_url, wait_for};

impl TestHome {
    /// `fbuild shims` for this home; returns the shim directory.
    pub fn shims(&self) -> PathBuf {
        let out = self.run(&["shims"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// The shim `tool` (after [`TestHome::shims`]) run in `dir` with this
    /// home and the zccache mirror, as a build would run it.
    pub fn shim(&self, tool: &str, dir: &Path) -> Command {
        let mut cmd = clean_command(self.home.join("shims").join(tool));
        cmd.current_dir(dir)
            .env("FBUILD_HOME", &self.home)
            .env("FBUILD_ZCCACHE_URL", mirror_url());
        cmd
    }

    /// zccache's counters for this home's managed daemon. A build does not
    /// wait for zccache's install or daemon, so this waits (up to 30 s).
    pub fn zccache_stats(&self) -> serde_json::Value {
        let bin = self
            .home
            .join(format!("tools/zccache-{ZCCACHE_VERSION}/zccache"));
        let mut last = String::new();
        let found = wait_for(Duration::from_secs(30), || {
            // Not installed yet: the first build installs it meanwhile.
            let Ok(out) = Command::new(&bin)
                .args(["status", "--json"])
                .env("ZCCACHE_CACHE_DIR", self.home.join("tools/zccache-cache"))
                .output()
            else {
                return false;
            };
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            serde_json::from_str::<serde_json::Value>(&last)
                .is_ok_and(|j| j["daemon"]["cache_hits"].is_u64())
        });
        assert!(found, "zccache's daemon never answered: {last}");
        serde_json::from_str::<serde_json::Value>(&last).unwrap()["daemon"].clone()
    }
}

/// In a folder of their own, a wrapper per `(tool, system program)` that
/// appends `"<tool> <args>"` to the folder's log, then runs the system's
/// program: first on PATH ([`Wrappers::path_first`]), it is the real tool
/// a shim finds, and the log says what ran.
pub struct Wrappers(tempfile::TempDir);

impl Wrappers {
    pub fn new(tools: &[(&str, &str)]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for (tool, system) in tools {
            let path = dir.path().join(tool);
            std::fs::write(
                &path,
                format!(
                    "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexec {system} \"$@\"\n",
                    dir.path().join("log").display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Wrappers(dir)
    }

    /// The wrapper of `tool`.
    pub fn tool(&self, tool: &str) -> PathBuf {
        self.0.path().join(tool)
    }

    /// PATH with the wrappers first.
    pub fn path_first(&self) -> String {
        format!(
            "{}:{}",
            self.0.path().display(),
            std::env::var("PATH").unwrap()
        )
    }

    /// The calls so far, a line each.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.0.path().join("log")).unwrap_or_default()
    }

    /// The calls since the last time, a line each.
    pub fn take_log(&self) -> String {
        let log = self.log();
        let _ = std::fs::remove_file(self.0.path().join("log"));
        log
    }
}
