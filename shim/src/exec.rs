//! Running the plan. The real tool alone is `exec`ed (Unix): it replaces
//! the shim, so its exit code, signals and stdio are its own. A cached
//! compile goes straight to zccache's daemon over its wire when the plan
//! names its socket (`direct`); otherwise zccache in front is spawned (SIGINT, SIGTERM, SIGHUP and SIGQUIT forwarded,
//! its exit code returned as ours) so that a failure of the cache
//! machinery can be told from a compile error and the compile run again
//! without the cache (see [`run_cached`]), and so the `-MP` depfile can be
//! finished after it.

use std::ffi::OsString;

use fbuild_core::Settings;
use fbuild_core::tool::cache_route::{Came, Ladder, Next, Via};
use fbuild_core::tool::{Tool, cache_env, exec as tool_exec};
use fbuild_core::zwire::Kind;
use fbuild_core::{link_inputs, link_store};

use crate::depfile::add_phony_targets;
use crate::direct;
use crate::fallback::{Topic, die, report_zccache_failure, warn_once};
use crate::rewrites::Prepared;
use crate::target::{Target, real_command};

pub fn run(target: Target, prepared: Prepared, marker: (&str, String)) -> ! {
    // `ranlib` rewrites its input: from the link store or alone, never
    // through zccache.
    if prepared.ranlib.is_some() {
        if let Some(code) = crate::ranlib::run(&target, &prepared, &marker) {
            std::process::exit(code)
        }
        exec(real_command(&target, &prepared, &marker))
    }
    let links_cached =
        prepared.kind == Kind::Compile || (target.links && fbuild_core::settings::cache_links());
    // A driver's link goes through the cache with its toolchain's key only
    // (taken only when links may go there: it walks the library folders).
    let link_key = match (prepared.needs_link_key && links_cached, &target.link_dirs) {
        (true, Some(dirs)) => {
            let known: Vec<_> = std::env::split_paths(dirs).collect();
            let cwd = std::env::current_dir().unwrap_or_default();
            link_inputs::key_flag(&prepared.text, &cwd, &known, target.link_store.as_deref())
        }
        _ => None,
    };
    if !links_cached && let Some(code) = from_link_store(&target, &prepared, &marker) {
        std::process::exit(code)
    }
    if !links_cached && let Some(code) = crate::one_step::run(&target, &prepared, &marker) {
        std::process::exit(code)
    }
    if let Some(code) = crate::probe::run(&target, &prepared, &marker) {
        std::process::exit(code)
    }
    let keyed = links_cached && (!prepared.needs_link_key || link_key.is_some());
    let Some(zccache) = target
        .zccache
        .as_ref()
        .filter(|_| prepared.use_zccache && keyed)
    else {
        exec(real_command(&target, &prepared, &marker))
    };
    // The `-MP` rewrite applies only when the plan says how this compiler
    // writes phony targets.
    let after = prepared.phony_depfile.clone().zip(target.phony_blank_line);
    let mut args = match (&prepared.phony_depfile, &after) {
        (Some(_), None) => prepared.original.clone(),
        _ => prepared.for_zccache.clone(),
    };
    if let Some(flag) = target.color_flag.as_ref().filter(|_| prepared.wants_color) {
        args.push(flag.into());
    }
    args.extend(link_key.map(Into::into));
    let args = &args;
    let endpoint = target
        .endpoint
        .as_ref()
        .filter(|_| fbuild_core::zwire::enabled());
    let ladder = Ladder {
        wire: endpoint.is_some(),
        client: true,
    };
    let mut via = ladder.first();
    let code = loop {
        let came = match (via, endpoint) {
            (Via::Wire, Some(endpoint)) => {
                direct::compile(endpoint, &target.real, args, prepared.kind, &marker)
            }
            (Via::Client, _) => run_client(zccache, &target, args, &marker),
            _ => exec(real_command(&target, &prepared, &marker)),
        };
        match ladder.after(via, came) {
            Next::Done(code) => break code,
            // Another zccache at the socket: its own client speaks its
            // wire; the coordinator is told so that it probes the daemon
            // again.
            Next::Then { via: next, report } => {
                target.forget();
                report_zccache_failure(&report);
                via = next;
            }
            Next::Fallback { why } => cache_failed(&target, &prepared, &marker, &why),
        }
    };
    if code == 0
        && let Some((depfile, blank_line)) = after
        && let Err(e) = add_phony_targets(&depfile, blank_line)
    {
        die(
            1,
            &format!("fbuild: adding -MP targets to {}: {e}", depfile.display()),
        );
    }
    std::process::exit(code)
}

/// A link or archive that may be cached, through fbuild's link store
/// (`stored`): its exit code, or `None` when the store cannot take it.
fn from_link_store(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Option<i32> {
    let store = target.link_store.as_ref()?;
    let cached = target.links && target.zccache.is_some();
    if !cached || prepared.kind != Kind::Link || !prepared.use_zccache {
        return None;
    }
    if prepared.phony_depfile.is_some() {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let fingerprint = match (prepared.needs_link_key, &target.link_dirs) {
        (false, _) => String::new(),
        (true, Some(dirs)) => {
            let known: Vec<_> = std::env::split_paths(dirs).collect();
            link_inputs::key_flag(&prepared.text, &cwd, &known, target.link_store.as_deref())?
        }
        (true, None) => return None,
    };
    // `ar`'s arguments with `D` added (see `rewrites`); a link's as given.
    let args: Vec<String> = prepared
        .for_zccache
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    crate::stored::run(&crate::stored::Stored {
        store,
        step: link_store::Step {
            tool: &target.real,
            args: &args,
            cwd: &cwd,
            fingerprint: &fingerprint,
            kind: if prepared.archive {
                link_store::StepKind::Archive
            } else {
                link_store::StepKind::Link
            },
        },
        marker,
    })
}

/// The cache machinery failed: said once per build, told to the
/// coordinator, the remembered plan forgotten (the next compile asks the
/// coordinator, which checks the daemon again), and the compile run with
/// the real tool.
fn cache_failed(target: &Target, prepared: &Prepared, marker: &(&str, String), why: &str) -> ! {
    target.forget();
    warn_once(
        Settings::from_env().ok().as_ref(),
        Topic::Fallback,
        &format!(
            "fbuild: warning: zccache failed ({why}); compiling without the cache \
             (said once per build)"
        ),
    );
    report_zccache_failure(why);
    exec(real_command(target, prepared, marker))
}

/// `zccache <real> args…` as a child: what it came to.
fn run_client(
    zccache: &std::path::Path,
    target: &Target,
    args: &[OsString],
    marker: &(&str, String),
) -> Came {
    let tool = Tool::new(zccache).arg(&target.real).args(args);
    let tool = cache_env::compile(tool)
        .envs(target.env.iter().map(|(k, v)| (k, v)))
        .env(marker.0, &marker.1);
    run_cached(&tool)
}

/// Runs `zccache <real> args…`, holding its stderr back until it exits:
/// a compile whose cache machinery failed (daemon killed mid-build,
/// connection closed, zccache panicked) is run again with the real tool,
/// and the user sees only that compile's output, not zccache's error.
/// Hazard, measured with zccache 1.15.8: a daemon killed under `make -j2`
/// failed the build (`zccache[err][R]: daemon response failure
/// (closed-connection)`, exit 1, 3 of 3 runs); a non-UTF-8 environment
/// panics the client (exit 101, `[zccache] zccache crashed`); a client that
/// cannot reach a daemon exits 125 with `zccache[err][D]`.
fn run_cached(tool: &Tool) -> Came {
    use std::io::Read;
    let mut command = tool.command();
    command.stderr(std::process::Stdio::piped());
    let mut child = match tool_exec::spawn(&mut command) {
        Ok(c) => c,
        Err(e) => return Came::Failed(format!("cannot run zccache: {e}")),
    };
    tool_exec::forward_signals_to(&child);
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_end(&mut stderr);
    }
    let code = tool_exec::wait_code(&mut child)
        .unwrap_or_else(|e| die(1, &format!("fbuild: waiting for the compiler: {e}")));
    if let Some(why) = cache_env::machinery_failure(code, &stderr) {
        return Came::Failed(why);
    }
    fbuild_core::console::write_raw(fbuild_core::console::Stream::Stderr, &stderr);
    Came::Exited(code)
}

/// Becomes the real tool (see `fbuild_core::tool::exec`); 127 when it
/// cannot be started, as a shell says it.
fn exec(tool: Tool) -> ! {
    let err = tool_exec::become_tool(&tool);
    die(127, &format!("fbuild: cannot run {}: {err}", tool.name()))
}
