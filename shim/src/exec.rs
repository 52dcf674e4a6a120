//! Running the plan. Normally `exec` (Unix): the tool replaces the shim, so
//! its exit code, signals and stdio are its own. When the shim must act
//! after the tool (the `-MP` depfile), it spawns, forwards SIGINT, SIGTERM,
//! SIGHUP and SIGQUIT to the child, and exits as the child did.

use std::path::PathBuf;
use std::process::Command;

use crate::depfile::add_phony_targets;
use crate::rewrites::Prepared;

/// What to run.
#[derive(Debug)]
pub struct Target {
    /// zccache, when it goes in front.
    pub zccache: Option<PathBuf>,
    /// The real tool.
    pub real: PathBuf,
    pub env: Vec<(String, String)>,
    /// For the `-MP` rewrite: blank line before each phony target.
    pub phony_blank_line: Option<bool>,
}

pub fn run(target: Target, prepared: Prepared, marker: (&str, String)) -> ! {
    let zccache = target.zccache.as_ref().filter(|_| prepared.use_zccache);
    let (mut cmd, after) = match zccache {
        Some(zccache) => {
            // The `-MP` rewrite applies only when the plan says how this
            // compiler writes phony targets.
            let after = prepared.phony_depfile.zip(target.phony_blank_line);
            let args = match after {
                Some(_) => &prepared.for_zccache,
                None => &prepared.original,
            };
            let mut c = Command::new(zccache);
            c.arg(&target.real).args(args);
            (c, after)
        }
        None => {
            let mut c = Command::new(&target.real);
            c.args(&prepared.original);
            (c, None)
        }
    };
    cmd.envs(target.env).env(marker.0, marker.1);
    let Some((depfile, blank_line)) = after else {
        exec(&mut cmd)
    };
    let code = spawn_and_wait(&mut cmd);
    if code == 0
        && let Err(e) = add_phony_targets(&depfile, blank_line)
    {
        die(
            1,
            &format!("fbuild: adding -MP targets to {}: {e}", depfile.display()),
        );
    }
    std::process::exit(code)
}

#[cfg(unix)]
fn exec(cmd: &mut Command) -> ! {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    die(
        127,
        &format!(
            "fbuild: cannot run {}: {err}",
            cmd.get_program().to_string_lossy()
        ),
    )
}

#[cfg(not(unix))]
fn exec(cmd: &mut Command) -> ! {
    std::process::exit(spawn_and_wait(cmd))
}

/// Child pid for the signal forwarder (0: none).
#[cfg(unix)]
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn forward(signal: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Spawns, forwards signals while waiting, returns the exit code (128 +
/// signal number when the child died of a signal, like a shell).
fn spawn_and_wait(cmd: &mut Command) -> i32 {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => die(
            127,
            &format!(
                "fbuild: cannot run {}: {e}",
                cmd.get_program().to_string_lossy()
            ),
        ),
    };
    #[cfg(unix)]
    {
        CHILD.store(child.id() as i32, std::sync::atomic::Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: installing a handler that only calls kill(2).
            unsafe { libc::signal(sig, forward as *const () as libc::sighandler_t) };
        }
    }
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => die(1, &format!("fbuild: waiting for the compiler: {e}")),
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

pub fn die(code: i32, message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(code)
}
