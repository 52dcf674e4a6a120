//! Running helper commands: short ones (health checks, `zccache status`)
//! with a time limit, long ones (a `git clone`) watched by the caller and
//! stopped with everything they started; and finding processes by command
//! line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fbuild_core::time::WATCH_EVERY;

/// Runs `cmd` with stdin closed and output captured; kills it after
/// `timeout`.
pub fn output_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {program}: {e}"))?;
    // Drain both pipes on threads so a chatty child cannot block on a full
    // pipe while we wait for it. Hazard: a daemon the child starts may
    // inherit the pipes and keep them open for its whole life, so after the
    // child exits we wait for the readers only briefly.
    let seen = Arc::new(AtomicU64::new(0));
    let out_reader = drain(child.stdout.take().expect("piped stdout"), &seen);
    let err_reader = drain(child.stderr.take().expect("piped stderr"), &seen);
    let status = wait_with_timeout(&mut child, &program, timeout)?;
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_millis(500))
            .unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(out_reader),
        stderr: collect(err_reader),
    })
}

/// Runs `cmd` with stdin closed and output captured, asking `check` every
/// tenth of a second (told how many bytes of output came so far) whether
/// to go on: its `Err` stops the command — the whole process group it
/// started (git runs helpers such as `git-remote-http`), which also dies
/// with this process (Linux) — and is returned. Seen: a stalled `git
/// clone` outlived its build and even `fbuild daemon stop`.
pub fn output_watched<E>(
    cmd: &mut Command,
    mut check: impl FnMut(u64) -> Result<(), E>,
) -> Result<Result<Output, String>, E> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    fbuild_core::process_group::own_group(cmd);
    let spawned = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Ok(Err(format!("running {program}: {e}"))),
    };
    let seen = Arc::new(AtomicU64::new(0));
    let out_reader = drain(child.stdout.take().expect("piped stdout"), &seen);
    let err_reader = drain(child.stderr.take().expect("piped stderr"), &seen);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Ok(Err(format!("waiting for {program}: {e}"))),
        }
        if let Err(stop) = check(seen.load(Ordering::Relaxed)) {
            fbuild_core::process_group::kill_group(&mut child);
            return Err(stop);
        }
        std::thread::sleep(WATCH_EVERY);
    };
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_millis(500))
            .unwrap_or_default()
    };
    Ok(Ok(Output {
        status,
        stdout: collect(out_reader),
        stderr: collect(err_reader),
    }))
}

/// Runs `cmd` with stdio on /dev/null (a daemon it starts must not inherit
/// pipes of ours); kills it after `timeout`. Err unless it exits 0.
pub fn run_quiet(cmd: &mut Command, timeout: Duration) -> Result<(), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("running {program}: {e}"))?;
    match wait_with_timeout(&mut child, &program, timeout)? {
        status if status.success() => Ok(()),
        status => Err(format!("{program} exited with {status}")),
    }
}

fn wait_with_timeout(
    child: &mut Child,
    program: &str,
    timeout: Duration,
) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    }
}

fn drain(
    mut pipe: impl Read + Send + 'static,
    seen: &Arc<AtomicU64>,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let seen = Arc::clone(seen);
    std::thread::spawn(move || {
        let (mut all, mut buf) = (Vec::new(), [0u8; 8192]);
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            seen.fetch_add(n as u64, Ordering::Relaxed);
        }
        let _ = tx.send(all);
    });
    rx
}

/// Pids of live processes whose command line contains every one of
/// `needles` (Linux: /proc; elsewhere none are found).
pub fn pids_with_args(needles: &[&str]) -> Vec<u32> {
    fbuild_core::procs::pids_where(|args| {
        needles
            .iter()
            .all(|n| args.iter().any(|a| String::from_utf8_lossy(a).contains(n)))
    })
}

/// A private scratch directory for a compiler probe, with the given files;
/// removed when dropped. Unique per process and call (probes of different
/// compilers run concurrently).
pub struct ProbeDir(PathBuf);

impl ProbeDir {
    pub fn new(files: &[(&str, &str)]) -> Result<ProbeDir, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fbuild-probe-{}-{n}", std::process::id()));
        let probe = ProbeDir(dir);
        std::fs::create_dir_all(&probe.0)
            .map_err(|e| format!("creating {}: {e}", probe.0.display()))?;
        for (name, text) in files {
            std::fs::write(probe.0.join(name), text)
                .map_err(|e| format!("writing a probe file: {e}"))?;
        }
        Ok(probe)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ProbeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
