//! Getting the plan: a recently remembered one (`remembered`), else ask
//! the coordinator (printing notices while it installs), or, when fbuild's
//! own machinery fails, find the real tool ourselves and say so once.

use std::path::{Path, PathBuf};

use fbuild_client::{Client, ClientError, RequestError};
use fbuild_core::Settings;
use fbuild_core::protocol::{ErrorKind, Event, Plan, PlanRequest};
use fbuild_core::resolve::{FileId, find_real_tool};
use fbuild_platforms::{classify, real_tool_name};

use crate::fallback::{Topic, die, say, warn_once};
use crate::notices::Notices;
use crate::remembered;
use crate::rewrites::Prepared;
use crate::target::Target;

/// The plan for `name`, from the coordinator or, failing that, locally.
pub fn obtain(name: &str, prepared: &Prepared) -> Target {
    let settings = Settings::from_env();
    let shim_exe = std::env::current_exe().ok();
    let failure = match &settings {
        Ok(settings) => {
            if !settings.warnings.is_empty() {
                warn_once(
                    Some(settings),
                    Topic::Settings,
                    &format!("fbuild: warning: {}", settings.warnings.join("; ")),
                );
            }
            let slot = remembered::slot(
                settings,
                name,
                shim_exe.as_deref(),
                prepared.phony_depfile.is_some(),
                prepared.wants_color,
            );
            if let Some(plan) = remembered::recall(&slot) {
                return target(plan, Some(slot), settings);
            }
            match ask(settings, name, prepared, shim_exe.as_deref(), &slot) {
                Ok(target) => return target,
                Err(why) => why,
            }
        }
        Err(e) => e.to_string(),
    };
    warn_once(
        settings.as_ref().ok(),
        Topic::Fallback,
        &format!("fbuild: warning: {failure}; compiling without the cache (said once per build)"),
    );
    local(name, settings.ok().as_ref(), shim_exe.as_deref())
        .unwrap_or_else(|why| die(127, &format!("fbuild: {name}: {why}")))
}

fn ask(
    settings: &Settings,
    name: &str,
    prepared: &Prepared,
    shim: Option<&Path>,
    slot: &Path,
) -> Result<Target, String> {
    let request = PlanRequest {
        tool: name.to_string(),
        platform: settings.platform.clone(),
        cwd: std::env::current_dir().unwrap_or_default(),
        path: std::env::var_os("PATH").unwrap_or_default(),
        shim_exe: shim.map(Path::to_path_buf).unwrap_or_default(),
        wants_phony_style: prepared.phony_depfile.is_some(),
        wants_color: prepared.wants_color,
    };
    let mut notices = Notices::new(name, settings);
    let client = Client::new(settings.clone());
    let answer = client.plan(request, &mut |event| match event {
        Event::Warning { message } => say(&format!("fbuild: warning: {message}")),
        other => notices.on_event(other),
    });
    match answer {
        Ok(plan) => {
            if let Some(warning) = &plan.warning {
                say(&format!("fbuild: warning: {warning}"));
            }
            remembered::keep(slot, &plan);
            Ok(target(plan, Some(slot.to_path_buf()), settings))
        }
        // The coordinator found no such tool. Our own lookup may still (a
        // coordinator that could not read this PATH); else nothing can run.
        Err(RequestError::Refused {
            kind: ErrorKind::NoTool,
            message,
        }) => Ok(local(name, Some(settings), shim)
            .unwrap_or_else(|_| die(127, &format!("fbuild: {name}: {message}")))),
        Err(RequestError::Refused { message, .. }) => {
            Err(format!("the coordinator refused the plan: {message}"))
        }
        Err(RequestError::Client(e)) => Err(describe(e)),
        Err(other) => Err(other.to_string()),
    }
}

fn target(plan: Plan, slot: Option<PathBuf>, settings: &Settings) -> Target {
    Target {
        link_store: Some(settings.home.link_store_dir()),
        zccache: plan.zccache,
        real: plan.real,
        env: plan.env,
        phony_blank_line: plan.phony_blank_line,
        color_flag: plan.color_flag,
        link_dirs: plan.link_dirs,
        links: plan.links,
        endpoint: plan.zccache_endpoint,
        slot,
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
    .unwrap_or_else(|why| die(127, &format!("fbuild: {name}: {why}")))
}

/// Finds the real tool without the coordinator.
fn local(name: &str, settings: Option<&Settings>, shim: Option<&Path>) -> Result<Target, String> {
    let platform = settings
        .map(|s| s.platform.as_str())
        .unwrap_or(fbuild_core::platform::Platform::NATIVE);
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
        Some(real) => Ok(Target {
            zccache: None,
            real,
            env: Vec::new(),
            phony_blank_line: None,
            color_flag: None,
            link_dirs: None,
            links: false,
            link_store: None,
            endpoint: None,
            slot: None,
        }),
        None => Err(format!(
            "no real `{real_name}` on PATH (fbuild's shims are skipped)"
        )),
    }
}
