//! Getting the plan: ask the coordinator (printing notices while it
//! installs), or, when fbuild's own machinery fails, find the real tool
//! ourselves and say so once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fbuild_client::{Client, ClientError};
use fbuild_core::Settings;
use fbuild_core::install_status::{InstallPhase, InstallStatus};
use fbuild_core::protocol::{ErrorKind, Event, PlanRequest, Reply, Request};
use fbuild_core::resolve::{FileId, find_real_tool};
use fbuild_platforms::{classify, real_tool_name};

use crate::exec::{Target, die};
use crate::fallback::warn_once;
use crate::rewrites::Prepared;

/// The plan for `name`, from the coordinator or, failing that, locally.
pub fn obtain(name: &str, prepared: &Prepared) -> Target {
    let settings = Settings::from_env();
    let shim_exe = std::env::current_exe().ok();
    let failure = match &settings {
        Ok(settings) => match ask(settings, name, prepared, shim_exe.as_deref()) {
            Ok(target) => return target,
            Err(why) => why,
        },
        Err(e) => e.to_string(),
    };
    let home = settings.as_ref().ok().map(|s| s.home.root().to_path_buf());
    warn_once(
        home.as_deref(),
        &format!("fbuild: warning: {failure}; compiling without the cache (said once per build)"),
    );
    local(name, settings.ok().as_ref(), shim_exe.as_deref())
}

fn ask(
    settings: &Settings,
    name: &str,
    prepared: &Prepared,
    shim: Option<&Path>,
) -> Result<Target, String> {
    let request = Request::Plan(PlanRequest {
        tool: name.to_string(),
        platform: settings.platform.clone(),
        cwd: std::env::current_dir()
            .unwrap_or_default()
            .display()
            .to_string(),
        path: std::env::var("PATH").unwrap_or_default(),
        shim_exe: shim.map(|p| p.display().to_string()).unwrap_or_default(),
        wants_phony_style: prepared.phony_depfile.is_some(),
    });
    let mut notices = Notices::new(name, settings.notice_interval);
    let client = Client::new(settings.clone());
    let served = client
        .request(&request, &mut |event| notices.on_event(event))
        .map_err(describe)?;
    match served.reply {
        Reply::Plan(plan) => {
            if let Some(warning) = plan.warning {
                eprintln!("fbuild: warning: {warning}");
            }
            Ok(Target {
                zccache: plan.zccache.map(PathBuf::from),
                real: PathBuf::from(plan.real),
                env: plan.env,
                phony_blank_line: plan.phony_blank_line,
            })
        }
        // The tool is not there at all: running it ourselves cannot help.
        Reply::Error {
            kind: ErrorKind::NoTool,
            message,
        } => die(127, &format!("fbuild: {name}: {message}")),
        Reply::Error { message, .. } => Err(format!("the coordinator refused the plan: {message}")),
        other => Err(format!("unexpected answer to a plan request: {other:?}")),
    }
}

fn describe(e: ClientError) -> String {
    match e {
        ClientError::CoordinatorMissing { .. } => e.to_string(),
        other => format!("fbuild's coordinator is unavailable ({other})"),
    }
}

/// The real tool, found here without the coordinator and without a warning.
pub fn local_only(name: &str) -> Target {
    let settings = Settings::from_env().ok();
    local(
        name,
        settings.as_ref(),
        std::env::current_exe().ok().as_deref(),
    )
}

/// Finds the real tool without the coordinator.
fn local(name: &str, settings: Option<&Settings>, shim: Option<&Path>) -> Target {
    let platform = settings.map(|s| s.platform.as_str()).unwrap_or("native");
    let class = classify(name).expect("classified before");
    let real_name = real_tool_name(platform, class, name)
        .unwrap_or_else(|why| die(1, &format!("fbuild: {why}")));
    let skip: Vec<PathBuf> = settings
        .map(|s| vec![s.home.shims_dir()])
        .unwrap_or_default();
    let shim_id = shim.and_then(FileId::of);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_default();
    match find_real_tool(&real_name, &path, &cwd, &skip, shim_id.as_ref()) {
        Some(real) => Target {
            zccache: None,
            real,
            env: Vec::new(),
            phony_blank_line: None,
        },
        None => die(
            127,
            &format!("fbuild: {name}: no real `{real_name}` on PATH (fbuild's shims are skipped)"),
        ),
    }
}

/// Notices on stderr while the plan waits on an install: the first after
/// about a second, then one per interval; none if the plan comes sooner.
struct Notices<'a> {
    tool: &'a str,
    start: Instant,
    next: Duration,
    interval: Duration,
    last: Option<InstallStatus>,
}

impl<'a> Notices<'a> {
    fn new(tool: &'a str, interval: Duration) -> Self {
        Notices {
            tool,
            start: Instant::now(),
            next: Duration::from_secs(1),
            interval,
            last: None,
        }
    }

    fn on_event(&mut self, event: &Event) {
        if let Event::Install(status) = event {
            self.last = Some(status.clone());
        }
        let elapsed = self.start.elapsed();
        if elapsed < self.next {
            return;
        }
        // Only while something is still being installed: a finished install
        // (the plan is about to come) is not worth a line.
        let Some(status) = self
            .last
            .as_ref()
            .filter(|s| s.phase < InstallPhase::Installed)
        else {
            return;
        };
        eprintln!(
            "fbuild: {} waits for {} ({} s)",
            self.tool,
            status.summary(),
            elapsed.as_secs()
        );
        while self.next <= elapsed {
            self.next += self.interval;
        }
    }
}
