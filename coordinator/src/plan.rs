//! Exec plans for the shims: the real tool on the caller's PATH (never a
//! shim), zccache in front of it when one is usable, and the environment
//! zccache needs to reach the daemon the coordinator started.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{ErrorKind, Plan, PlanRequest, Reply};
use fbuild_core::resolve::{FileId, find_real_tool};
use fbuild_core::settings::ZccacheMode;
use fbuild_platforms::{classify, real_tool_name};
use tokio::sync::mpsc::UnboundedSender;

use crate::process::ProbeDir;
use crate::state::State;

/// A warning about compiling without the cache is sent to one shim per
/// window, so a build prints it once rather than once per file.
const WARNING_WINDOW: Duration = Duration::from_secs(600);

/// Per-coordinator memory for plans.
#[derive(Default)]
pub struct PlanMemory {
    warned: Mutex<HashMap<String, Instant>>,
    phony_blank_line: Mutex<HashMap<PathBuf, bool>>,
}

pub async fn plan(
    state: &State,
    req: PlanRequest,
    events: &UnboundedSender<InstallStatus>,
) -> Reply {
    let no_tool = |message: String| Reply::Error {
        kind: ErrorKind::NoTool,
        message,
    };
    let Some(class) = classify(&req.tool) else {
        return no_tool(format!(
            "{:?} is not a compiler, archiver or linker name",
            req.tool
        ));
    };
    let name = match real_tool_name(&req.platform, class, &req.tool) {
        Ok(name) => name,
        Err(why) => return no_tool(why),
    };
    let shims = state.settings.home.shims_dir();
    let shim = FileId::of(Path::new(&req.shim_exe));
    let Some(real) = find_real_tool(
        &name,
        OsStr::new(&req.path),
        Path::new(&req.cwd),
        std::slice::from_ref(&shims),
        shim.as_ref(),
    ) else {
        return no_tool(format!(
            "no real `{name}` on PATH (fbuild's shims are skipped); install it or put its \
             directory on PATH{}",
            if req.platform == "native" {
                ""
            } else {
                " (FBUILD_PLATFORM picks the toolchain)"
            }
        ));
    };
    let choice = state.zccache.resolve(events, false).await;
    let mut plan = Plan {
        real: real.display().to_string(),
        zccache: None,
        env: Vec::new(),
        phony_blank_line: None,
        warning: None,
    };
    match (&choice.path, &choice.cache_dir) {
        (Some(zccache), Some(cache_dir)) => {
            plan.zccache = Some(zccache.clone());
            plan.env = vec![
                ("ZCCACHE_CACHE_DIR".into(), cache_dir.clone()),
                ("ZCCACHE_MAX_PARALLEL_COMPILES".into(), "0".into()),
            ];
            if req.wants_phony_style {
                plan.phony_blank_line = Some(state.plans.phony_style(&real).await);
            }
        }
        _ if choice.mode != ZccacheMode::Off => {
            plan.warning = state.plans.warn_once(&choice.reason);
        }
        _ => {}
    }
    Reply::Plan(plan)
}

impl PlanMemory {
    fn warn_once(&self, reason: &str) -> Option<String> {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        match warned.get(reason) {
            Some(at) if at.elapsed() < WARNING_WINDOW => None,
            _ => {
                warned.insert(reason.to_string(), Instant::now());
                Some(reason.to_string())
            }
        }
    }

    /// How `compiler -MP` writes phony targets, probed once per compiler.
    async fn phony_style(&self, compiler: &Path) -> bool {
        if let Some(known) = self.lock_styles().get(compiler) {
            return *known;
        }
        let probe = compiler.to_path_buf();
        let blank = tokio::task::spawn_blocking(move || probe_phony_style(&probe))
            .await
            .unwrap_or(false);
        self.lock_styles().insert(compiler.to_path_buf(), blank);
        blank
    }

    fn lock_styles(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, bool>> {
        self.phony_blank_line
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `compiler -MM -MP` on a one-header file and looks at the output:
/// GCC up to 9 writes `\n\nh.h:` (a blank line before each phony target),
/// GCC 10 and later `\nh.h:`.
fn probe_phony_style(compiler: &Path) -> bool {
    let Ok(dir) = ProbeDir::new(&[("probe.h", ""), ("probe.c", "#include \"probe.h\"\n")]) else {
        return false;
    };
    let out = crate::process::output_with_timeout(
        std::process::Command::new(compiler)
            .args(["-MM", "-MP", "probe.c"])
            .current_dir(dir.path()),
        Duration::from_secs(20),
    );
    out.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("\n\nprobe.h:"))
}
