//! Exec plans for the shims: the real tool on the caller's PATH (never a
//! shim), zccache in front of it when one is usable, and the environment
//! zccache needs to reach the daemon the coordinator started.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fbuild_core::Home;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::platform::Platform;
use fbuild_core::protocol::{ErrorKind, Plan, PlanRequest, Reply};
use fbuild_core::resolve::{FileId, find_real_tool};
use fbuild_core::settings::{CacheKind, ZccacheMode};
use fbuild_core::time::HEALTH_CHECK_TIMEOUT;
use fbuild_core::tool::{Runner, Tool};
use fbuild_platforms::{ToolClass, classify, real_tool_name};
use tokio::sync::mpsc::UnboundedSender;

use crate::colour::TakesColour;
use crate::link_key::LinkDirs;
use crate::process::{PerCompiler, ProbeDir};
use crate::sccache::SccacheManager;
use crate::warnings::WarnOnce;
use crate::zccache::ZccacheManager;

pub struct Planner {
    home: Home,
    zccache: Arc<ZccacheManager>,
    sccache: Arc<SccacheManager>,
    warnings: Arc<WarnOnce>,
    /// Runs the `-MP` probe (a fake in unit tests).
    runner: Arc<dyn Runner>,
    phony_blank_line: PerCompiler<bool>,
    /// Whether each compiler colours into a pipe.
    takes_colour: TakesColour,
    /// Each compiler's library folders, for links through the cache.
    link_dirs: LinkDirs,
}

impl Planner {
    pub fn new(
        home: Home,
        zccache: Arc<ZccacheManager>,
        sccache: Arc<SccacheManager>,
        warnings: Arc<WarnOnce>,
        runner: Arc<dyn Runner>,
    ) -> Self {
        Planner {
            home,
            zccache,
            sccache,
            warnings,
            runner,
            phony_blank_line: PerCompiler::default(),
            takes_colour: TakesColour::default(),
            link_dirs: LinkDirs::default(),
        }
    }

    /// The plan for `req` under the caller's cache (`FBUILD_CACHE`) and
    /// zccache `mode`.
    pub async fn plan(
        &self,
        req: PlanRequest,
        cache: CacheKind,
        mode: ZccacheMode,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        let real = match self.real_tool(&req) {
            Ok(real) => real,
            Err(message) => {
                return Reply::Error {
                    kind: ErrorKind::NoTool,
                    message,
                };
            }
        };
        let choice = self.choose(cache, mode, events).await;
        let mut plan = Plan {
            real,
            zccache: None,
            env: Vec::new(),
            phony_blank_line: None,
            warning: None,
            color_flag: None,
            link_dirs: None,
            links: false,
            zccache_endpoint: None,
        };
        match &choice.path {
            Some(zccache) => {
                plan.zccache = Some(zccache.clone());
                plan.links = choice.caches_links();
                plan.zccache_endpoint = choice.endpoint.clone().filter(|_| choice.wire.is_some());
                plan.env = choice.env.clone();
                plan.warning = choice.warning.as_ref().and_then(|w| self.warnings.first(w));
                if req.wants_phony_style {
                    plan.phony_blank_line = Some(self.phony_style(&plan.real).await);
                }
                if req.wants_color {
                    plan.color_flag = self.takes_colour.flag(&self.runner, &plan.real).await;
                }
                if classify(&req.tool).is_some_and(|c| matches!(c, ToolClass::C | ToolClass::Cxx)) {
                    let dirs = self.link_dirs.of(&self.runner, &plan.real).await;
                    plan.link_dirs = dirs.and_then(|d| std::env::join_paths(d).ok());
                }
            }
            None if mode != ZccacheMode::Off => plan.warning = self.warnings.first(&choice.reason),
            None => {}
        }
        Reply::Plan(plan)
    }

    /// The cache in front of compiles: sccache's decision, zccache's for
    /// `mode`, or zccache's "off" for `FBUILD_CACHE=none`.
    pub async fn choose(
        &self,
        cache: CacheKind,
        mode: ZccacheMode,
        events: &UnboundedSender<InstallStatus>,
    ) -> fbuild_core::protocol::ZccacheChoice {
        match cache {
            CacheKind::Sccache => self.sccache.resolve(events).await,
            CacheKind::None => self.zccache.resolve(ZccacheMode::Off, events, false).await,
            CacheKind::Zccache => self.zccache.resolve(mode, events, false).await,
        }
    }

    fn real_tool(&self, req: &PlanRequest) -> Result<PathBuf, String> {
        let class = classify(&req.tool)
            .ok_or_else(|| format!("{:?} is not a compiler, archiver or linker name", req.tool))?;
        let name = real_tool_name(&req.platform, class, &req.tool).map_err(|e| e.to_string())?;
        let shim = FileId::of(&req.shim_exe);
        find_real_tool(
            &name,
            &req.path,
            &req.cwd,
            std::slice::from_ref(&self.home.shims_dir()),
            shim.as_ref(),
        )
        .ok_or_else(|| {
            format!(
                "no real `{name}` on PATH (fbuild's shims are skipped); install it or put its \
                 directory on PATH{}",
                if Platform::parse(&req.platform).is_native() {
                    ""
                } else {
                    " (FBUILD_PLATFORM picks the toolchain)"
                }
            )
        })
    }

    /// How `compiler -MP` writes phony targets, probed once per compiler
    /// (a wave of requests waits for the one probe; a probe that failed is
    /// run again by the next request, this one takes GCC 10's style).
    async fn phony_style(&self, compiler: &Path) -> bool {
        self.phony_blank_line
            .get(&self.runner, compiler, probe_phony_style)
            .await
            .unwrap_or(false)
    }
}

/// Runs `compiler -MM -MP` on a one-header file and looks at the output:
/// GCC up to 9 writes `\n\nh.h:` (a blank line before each phony target),
/// GCC 10 and later `\nh.h:`.
fn probe_phony_style(runner: &dyn Runner, compiler: &Path) -> Result<bool, String> {
    tracing::info!(compiler = %compiler.display(), "probe: -MP style");
    let dir = ProbeDir::new(&[("probe.h", ""), ("probe.c", "#include \"probe.h\"\n")])?;
    let probe = Tool::new(compiler)
        .args(["-MM", "-MP", "probe.c"])
        .current_dir(dir.path());
    let out = runner
        .output(&probe, HEALTH_CHECK_TIMEOUT)
        .map_err(|e| e.to_string())?;
    // A compiler that answers, even with an error, has answered: its style
    // is GCC 10's (no blank line) and is not asked again. Only a probe that
    // could not run (not started, out of time) is run again next time.
    Ok(String::from_utf8_lossy(&out.stdout).contains("\n\nprobe.h:"))
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
