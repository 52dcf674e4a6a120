//! Windows binaries under wine, for tests on a Linux host (DESIGN.md,
//! "Windows"). `scripts/setup-windows` installs wine and fills the deps dir;
//! a test then runs only when both of these are set:
//!
//! * `FBUILD_WINE_BIN`: the folder of the Windows build's `.exe` files
//!   (e.g. `target/x86_64-pc-windows-gnu/debug`);
//! * `FBUILD_WINE_DEPS`: the deps dir (`bcryptprimitives.dll`, `tinycc/`,
//!   `zccache.exe`, `zccache-mirror/`), as `scripts/setup-windows` prints it.
//!
//! Each [`Wine`] has a prefix of its own, so its wineserver, named pipes and
//! processes are its own, and `wineserver -k` at the end touches no other
//! test: a clone of one template prefix (made once, ~12 s, under a lock, at
//! `FBUILD_WINE_PREFIX` or `<deps>/wine-prefix`), its large immutable files
//! (DLLs, EXEs) hard links, the rest (registry, users) copies. The stub
//! `bcryptprimitives.dll` (wine 8 has none; Rust's std imports `ProcessPrng`
//! from it, ours and zccache's) goes into the clone's `system32`, so every
//! Rust program in the prefix loads, wherever it lies; it is also copied
//! beside the built `.exe` files.
//!
//! Wine hands a process's Linux stderr to every process it starts, whatever
//! the Windows handles say (a daemon such as zccache's included), so
//! `Command::output()` on a program that leaves one running waits for it:
//! [`Wine::output`] (and [`Wine::run`]) collect into files instead.
//!
//! A wine process's Linux `/proc/PID/cmdline` is its Windows command line
//! (or the Unix path it was started by), its `environ` the Unix one it
//! inherited (never what a Windows parent set), its parent 1 when a Windows
//! process started it; its Windows pid is unrelated to its Linux one.

use std::ffi::OsStr;
use std::io::{Read, Seek};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{assert_ok, clean_command, wait_for};

/// How long wine gets to stop a prefix's processes before they are killed.
const SHUTDOWN: Duration = Duration::from_secs(10);

pub struct Wine {
    /// `prefix/` (the WINEPREFIX) and `zccache/` (its own zccache.exe).
    dir: tempfile::TempDir,
    prefix: PathBuf,
    zccache: OnceLock<PathBuf>,
    deps: PathBuf,
    bin: PathBuf,
    loader: PathBuf,
    server: PathBuf,
    stopped: AtomicBool,
}

/// A live Linux process of a [`Wine`]'s prefix.
#[derive(Debug, Clone)]
pub struct WinProcess {
    /// Its Linux pid (not its Windows one).
    pub pid: u32,
    /// Its command line (Windows, or the Unix path it was started by).
    pub command_line: String,
    /// The file name of its image, e.g. `fbuild-coordinator.exe`.
    pub image: String,
}

impl Wine {
    /// The wine environment, or `None` (with the reason on stderr, for the
    /// test to be skipped) unless `FBUILD_WINE_BIN` and `FBUILD_WINE_DEPS`
    /// are set. Set but unusable is a failure, not a skip.
    pub fn from_env() -> Option<Wine> {
        let (Some(bin), Some(deps)) = (
            std::env::var_os("FBUILD_WINE_BIN"),
            std::env::var_os("FBUILD_WINE_DEPS"),
        ) else {
            eprintln!(
                "skipped: FBUILD_WINE_BIN (the Windows .exe folder) and FBUILD_WINE_DEPS \
                 (what scripts/setup-windows prints) are not both set"
            );
            return None;
        };
        let (bin, deps) = (absolute(bin.as_ref()), absolute(deps.as_ref()));
        let stub = deps.join("bcryptprimitives.dll");
        assert!(stub.is_file(), "no {stub:?}: run scripts/setup-windows");
        assert!(bin.is_dir(), "FBUILD_WINE_BIN {bin:?} is not a folder");
        let loader = find_loader();
        let server = find_server(&loader);
        let template = std::env::var_os("FBUILD_WINE_PREFIX")
            .map(|p| absolute(p.as_ref()))
            .unwrap_or_else(|| deps.join("wine-prefix"));
        super::wine_prefix::ensure_template(&template, &loader, &server);
        // Beside the template: on its file system, for the hard links.
        let parent = template.parent().unwrap();
        let dir = tempfile::Builder::new()
            .prefix("wine-")
            .tempdir_in(parent)
            .expect("prefix dir");
        let prefix = dir.path().join("prefix");
        std::fs::create_dir(&prefix).unwrap();
        super::wine_prefix::clone_tree(&template, &prefix);
        let _ = std::fs::remove_file(prefix.join(".fbuild-template"));
        let system32 = prefix.join("drive_c/windows/system32");
        std::fs::copy(&stub, system32.join("bcryptprimitives.dll")).expect("stub in system32");
        install_beside(&stub, &bin);
        let wine = Wine {
            dir,
            prefix,
            zccache: OnceLock::new(),
            deps,
            bin,
            loader,
            server,
            stopped: AtomicBool::new(false),
        };
        // A persistent wineserver: every run after the first is warm (tens
        // of ms, not ~1 s); `shutdown` ends it.
        let started = wine.wineserver(&["-p"]).status().expect("start wineserver");
        assert!(started.success(), "wineserver -p: {started}");
        // Wine's services (services.exe, winedevice.exe, …) start with the
        // prefix's first program and keep its stderr: booted here without
        // stdio, so no test's output pipe is held open by them.
        let booted = no_stdio(&mut wine.command("wineboot")).status().unwrap();
        assert!(booted.success(), "wineboot: {booted}");
        Some(wine)
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    pub fn deps(&self) -> &Path {
        &self.deps
    }

    /// `name` (e.g. `fbuild.exe`) in the Windows build's folder.
    pub fn exe(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// TinyCC's `tcc.exe` (finds its headers and libraries by itself).
    pub fn tcc(&self) -> PathBuf {
        self.deps.join("tinycc/amd64/tcc.exe")
    }

    /// The pinned zccache's `zccache.exe` (and `zccache-fp.exe`): a copy of
    /// this prefix's own, since `zccache start` writes beside its exe
    /// (`zccache.exe.old.<n>`).
    pub fn zccache_exe(&self) -> PathBuf {
        self.zccache
            .get_or_init(|| {
                let dir = self.dir.path().join("zccache");
                std::fs::create_dir_all(&dir).unwrap();
                for name in ["zccache.exe", "zccache-fp.exe"] {
                    if self.deps.join(name).is_file() {
                        std::fs::copy(self.deps.join(name), dir.join(name)).unwrap();
                    }
                }
                dir.join("zccache.exe")
            })
            .clone()
    }

    /// The Windows zccache release mirror (for `FBUILD_ZCCACHE_URL`).
    pub fn zccache_mirror(&self) -> PathBuf {
        self.deps.join("zccache-mirror")
    }

    /// `wine64 exe` in this prefix, quiet (`WINEDEBUG=-all`), headless, and
    /// without the test's own FBUILD_* variables. `exe` is a Linux path to a
    /// Windows program, or the name of one of wine's (`cmd`, `taskkill`).
    pub fn command(&self, exe: impl AsRef<OsStr>) -> Command {
        let mut cmd = clean_command(&self.loader);
        wine_env(cmd.arg(exe), &self.prefix, &self.server);
        cmd
    }

    /// Runs `exe args…` under wine and returns its output ([`Wine::output`]).
    pub fn run(&self, exe: impl AsRef<OsStr>, args: &[&str]) -> Output {
        self.output(self.command(exe).args(args))
    }

    /// `cmd`'s output, collected in files rather than pipes: whatever it
    /// leaves running (a daemon) keeps its stderr, and would keep a pipe
    /// open after it exits.
    pub fn output(&self, cmd: &mut Command) -> Output {
        let (mut out, mut err) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        let status = cmd
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run wine64");
        let read = |f: &mut std::fs::File| {
            let mut bytes = Vec::new();
            f.rewind().unwrap();
            f.read_to_end(&mut bytes).unwrap();
            bytes
        };
        Output {
            status,
            stdout: read(&mut out),
            stderr: read(&mut err),
        }
    }

    /// `wineserver args…` for this prefix, without stdio (a server it
    /// starts would hold pipes open).
    fn wineserver(&self, args: &[&str]) -> Command {
        let mut cmd = clean_command(&self.server);
        wine_env(no_stdio(cmd.args(args)), &self.prefix, &self.server);
        cmd
    }

    /// `p` (absolute Linux path) as wine's `Z:\…` path.
    pub fn win_path(&self, p: &Path) -> String {
        assert!(p.is_absolute(), "not absolute: {}", p.display());
        format!("Z:{}", p.display()).replace('/', "\\")
    }

    /// Live processes of this prefix (the wineserver and wine's own
    /// services included), by Linux `/proc`: the ones whose environment has
    /// this `WINEPREFIX`.
    pub fn processes(&self) -> Vec<WinProcess> {
        let needle = format!("WINEPREFIX={}", self.prefix.display());
        let mut found: Vec<WinProcess> = std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
                env.split(|b| *b == 0)
                    .any(|var| var == needle.as_bytes())
                    .then_some(())?;
                if !live(pid) {
                    return None;
                }
                let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                // Wine writes the Windows command line over argv: one string,
                // space-padded; a Linux program's is NUL-separated.
                let command_line = String::from_utf8_lossy(&raw)
                    .replace('\0', " ")
                    .trim()
                    .to_string();
                let image = image_of(&command_line);
                Some(WinProcess {
                    pid,
                    command_line,
                    image,
                })
            })
            .collect();
        found.sort_by_key(|p| p.pid);
        found
    }

    /// Linux pids of this prefix's live processes whose image is `image`
    /// (e.g. `fbuild-coordinator.exe`; case-insensitive).
    pub fn pids_of(&self, image: &str) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|p| p.image.eq_ignore_ascii_case(image))
            .map(|p| p.pid)
            .collect()
    }

    /// Windows pids of this prefix's processes named `image`, by wine's
    /// `wmic` (wine 8's `tasklist` is a stub, its `wmic` knows no `where`).
    pub fn windows_pids_of(&self, image: &str) -> Vec<u32> {
        let out = self.run("wmic", &["process", "get", "Name,ProcessId"]);
        assert_ok(&out);
        let utf16: Vec<u16> = out
            .stdout
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&utf16)
            .lines()
            .filter_map(|line| {
                let (name, pid) = line.trim().rsplit_once(char::is_whitespace)?;
                name.trim().eq_ignore_ascii_case(image).then_some(())?;
                pid.parse().ok()
            })
            .collect()
    }

    /// `taskkill /F /PID windows_pid` in this prefix. Wine's taskkill ends
    /// the process with exit code 0 (Windows' with 1).
    pub fn taskkill(&self, windows_pid: u32) -> Output {
        self.run("taskkill", &["/F", "/PID", &windows_pid.to_string()])
    }

    /// Ends every process of this prefix, its wineserver last, and waits
    /// until none is left (killing the stragglers). Idempotent; also done
    /// on drop.
    pub fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.wineserver(&["-k"]).status();
        if !wait_for(SHUTDOWN, || self.processes().is_empty()) {
            for p in self.processes() {
                eprintln!("wine: killing {} ({})", p.pid, p.command_line);
                // SAFETY: kill(2) on a process of this test's own prefix.
                unsafe {
                    libc::kill(p.pid as libc::pid_t, libc::SIGKILL);
                }
            }
            assert!(
                wait_for(SHUTDOWN, || self.processes().is_empty()),
                "wine processes outlived SIGKILL: {:?}",
                self.processes()
            );
        }
        // The server's socket dir (Debian: `<tmp>/<name in prefix/wineserver>`
        // shared by the clones, then `server-<dev>-<inode of the prefix>`).
        let meta = std::fs::metadata(&self.prefix).unwrap();
        if let Ok(base) = std::fs::read_to_string(self.prefix.join("wineserver")) {
            let socket_dir = std::env::temp_dir().join(base.trim()).join(format!(
                "server-{:x}-{:x}",
                meta.dev(),
                meta.ino()
            ));
            let _ = std::fs::remove_dir_all(socket_dir);
        }
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The file name of the program a command line starts with (quoted or not,
/// `\` or `/` separated).
fn image_of(command_line: &str) -> String {
    let program = match command_line.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or_default(),
        // Unquoted (as zccache starts its daemon): the program ends at the
        // first `.exe` that ends a word, spaces in its folders or not.
        None => {
            let lower = command_line.to_ascii_lowercase();
            let end = lower
                .match_indices(".exe")
                .map(|(at, _)| at + 4)
                .find(|&end| lower[end..].chars().next().is_none_or(char::is_whitespace));
            match end {
                Some(end) => &command_line[..end],
                None => command_line.split_whitespace().next().unwrap_or_default(),
            }
        }
    };
    program
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `cmd` in wine's `prefix`, quiet, headless, with `server` for the prefix.
pub(super) fn wine_env<'a>(cmd: &'a mut Command, prefix: &Path, server: &Path) -> &'a mut Command {
    cmd.env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("WINESERVER", server)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
}

fn no_stdio(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

/// Not gone and not a zombie.
fn live(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).expect("absolute path")
}

/// `wine64`: on PATH, else where Debian keeps it, else `wine`.
fn find_loader() -> PathBuf {
    let on_path = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    on_path("wine64")
        .or_else(|| Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|p| p.is_file()))
        .or_else(|| on_path("wine"))
        .expect("no wine64: run scripts/setup-windows")
}

/// The wineserver beside the loader (Debian: `wineserver64`), else on PATH.
fn find_server(loader: &Path) -> PathBuf {
    let beside = |name| Some(loader.with_file_name(name)).filter(|p| p.is_file());
    beside("wineserver64")
        .or_else(|| beside("wineserver"))
        .unwrap_or_else(|| PathBuf::from("wineserver"))
}

/// Copies `file` into `dir` unless an identical one is there (written
/// aside and renamed: test processes share `dir`).
fn install_beside(file: &Path, dir: &Path) {
    let name = file.file_name().unwrap();
    let data = std::fs::read(file).unwrap();
    if std::fs::read(dir.join(name)).is_ok_and(|d| d == data) {
        return;
    }
    let tmp = dir.join(format!("{}.{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, &data).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}
