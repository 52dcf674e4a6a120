//! Building one environment: its target (core, board, toolchain) and
//! zccache from the coordinator, sources, compiles, then the core's
//! archive, link, objcopy and size recipes.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fbuild_client::Client;
use fbuild_core::install_status::InstallPhase;
use fbuild_core::protocol::{Event, Request};

use super::Options;
use super::compdb::write_compdb;
use super::engine::{Job, Outcome, Schedule, compile_all};
use super::link::run_hooks;
use super::sources::{Group, Layout};
use super::state::BuildState;
use super::target;
use crate::ldf::{Compat, Finder};
use crate::lib_store::LibraryStore;
use crate::project::{EnvConfig, Project};
use crate::report::{self, Kind};
use crate::runner::{CacheRoute, Route, Runner};
use crate::sources_memo::collect_remembered;
use fbuild_platforms::arduino::Properties;

/// What a finished environment build reports.
pub enum EnvResult {
    Built {
        compiled: usize,
        up_to_date: usize,
        firmware: PathBuf,
        /// The board's properties as this build resolved them.
        board: Box<Properties>,
    },
    /// A tool failed with this exit code.
    ToolFailed(i32),
}

pub async fn build_env(
    client: &Client,
    project: &Project,
    env: &EnvConfig,
    opts: &Options,
) -> Result<EnvResult> {
    if let Some(refused) = &env.extra_scripts {
        return Err(refused.clone().into());
    }
    let out_dir = project.build_dir.join(&env.name);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut phases = Phases::new();
    // Asked at once, answered while the target resolves; a no-op build
    // never waits for it (the thread dies with the process).
    let route = CacheRoute::default();
    let route_ready = route_in_background(client, &route, opts.verbose);
    let target = target::resolve(client, env, &project.root, &out_dir).await?;
    phases.mark("target");
    let runner = Runner {
        route,
        cwd: project.root.clone(),
        verbose: opts.verbose,
        cache_failed: Default::default(),
        to_report: Default::default(),
        env: env.name.clone(),
        counts: Default::default(),
        // Every GCC-style tool reads `@file`; a core's data says when its
        // tools do not (TinyCC 0.9.26: "file '@…' not found").
        response_files: target.recipes.properties().get("fbuild.response_files") != Some("false"),
        // A terminal sees the compiler's colours, from the cache too.
        colour: target
            .color_flag
            .clone()
            .filter(|_| std::io::IsTerminal::is_terminal(&std::io::stderr())),
        link_store: Some(client.settings().home.link_store_dir()),
    };

    let lib_deps = crate::libs::for_env(client, project, env, &target, opts.lock_mode).await?;
    let arch = target.arch();
    let pio_platform = target.pio_platform(&env.platform);
    // Reading the tree and the sources' includes is blocking file I/O
    // (remembered while nothing it read changed: `sources_memo`).
    let memo = out_dir.join(crate::sources_memo::FILE);
    let collected = tokio::task::block_in_place(|| {
        let layout = Layout {
            root: &project.root,
            src_dir: &project.src_dir,
            include_dir: &project.include_dir,
            out_dir: &out_dir,
            src_filter: &env.build_src_filter,
            also_src: project
                .also_src
                .as_ref()
                .map(|(d, f)| (d.as_path(), f.as_slice())),
            core: target.core_layout(),
            finder: Finder {
                explicit: &lib_deps,
                search: crate::libs::search_dirs(project, env, &target),
                ignore: &env.lib_ignore,
                mode: env.lib_ldf_mode,
                compat: env.lib_compat_check.then(|| Compat {
                    platform: &pio_platform,
                    framework: env.framework.as_deref(),
                    arch: arch.as_deref(),
                }),
                packages: crate::libs::package_dirs(client, &target),
            },
        };
        collect_remembered(&layout, &memo, &project.root, &project.build_dir)
    })?;
    let sources = collected.sources;
    let mut stamps = std::collections::HashMap::new();
    let jobs = sources
        .units
        .iter()
        .map(|u| {
            let cmd = target.recipes.compile(
                u.lang,
                &u.source,
                &u.object,
                &sources.include_dirs_of(u),
            )?;
            // `build_src_flags`: the project's own sources only.
            let src_flags = match u.group {
                Group::Project => env.build_src_flags.as_slice(),
                _ => &[],
            };
            let mut args: Vec<std::ffi::OsString> = cmd
                .args
                .into_iter()
                .chain(
                    u.flags
                        .iter()
                        .chain(src_flags)
                        .map(std::ffi::OsString::from),
                )
                .collect();
            crate::engine::name_depfile(&mut args, &u.object);
            let compiler_stamp = stamps
                .entry(cmd.program.clone())
                .or_insert_with(|| crate::lib_store_key::stamp(&cmd.program))
                .clone();
            // The project's own files by their path in it (a test suite's
            // `test/<suite>/…`); the rest, and a sketch's generated source,
            // by where their object goes.
            let own = match u.group {
                Group::Project if !u.source.starts_with(&project.build_dir) => {
                    u.source.strip_prefix(&project.root).ok()
                }
                _ => None,
            };
            Ok(Job {
                name: match own {
                    Some(path) => path.display().to_string(),
                    None => display(&u.object, &out_dir)
                        .trim_end_matches(".o")
                        .to_string(),
                },
                unit: u.clone(),
                compiler: cmd.program,
                args,
                compiler_stamp,
            })
        })
        .collect::<Result<Vec<Job>>>()?;
    let mut jobs = jobs;
    write_compdb(&out_dir.join("compile_commands.json"), &project.root, &jobs)?;
    phases.mark(if collected.remembered {
        "sources (remembered)"
    } else {
        "sources"
    });

    let state_file = out_dir.join("fbuild-state.json");
    let mut state = BuildState::load(&state_file);
    let shadowed = state.new_headers(collected.headers);
    let (mut store, served) = library_store(
        client, project, env, &target, &sources, &out_dir, &mut state, &mut jobs,
    )?;
    run_hooks(&runner, &target, "prebuild").await?;
    let progress = crate::progress::CompileProgress::new(&env.name, opts.verbose);
    let wait_for_route = || {
        if runner.route.get().is_none() {
            let _ = tokio::task::block_in_place(|| {
                route_ready.recv_timeout(fbuild_core::time::CACHE_ROUTE_WAIT)
            });
        }
    };
    let schedule = Schedule {
        jobs: opts.jobs,
        keep_going: opts.keep_going,
        clock: &out_dir.join(".fbuild-clock"),
        shadowed: &shadowed,
    };
    let outcome = compile_all(
        &runner,
        jobs,
        &mut state,
        &schedule,
        &progress,
        wait_for_route,
    )
    .await;
    phases.mark("compile");
    state
        .save(&state_file)
        .with_context(|| format!("writing {}", state_file.display()))?;
    let (compiled, up_to_date) = match outcome? {
        Outcome::Done {
            compiled,
            up_to_date,
        } => (compiled, up_to_date + served),
        Outcome::Failed(code) => return Ok(EnvResult::ToolFailed(code)),
    };
    let firmware = crate::link::link(
        &runner,
        &mut state,
        &target,
        &sources,
        &out_dir,
        env.lib_archive,
        &mut store,
    )
    .await;
    state
        .save(&state_file)
        .with_context(|| format!("writing {}", state_file.display()))?;
    phases.mark("link");
    if opts.verbose {
        report::say(Kind::Verbose, phases.line(&env.name));
        let counts = *runner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(line) = counts.line() {
            report::say(Kind::Verbose, format!("fbuild: [env:{}] {line}", env.name));
        }
        if let Some(line) = store.line() {
            report::say(Kind::Verbose, format!("fbuild: [env:{}] {line}", env.name));
        }
    }
    if let Some(reason) = runner.cache_report() {
        // As a shim does: the coordinator checks zccache's daemon again.
        let _ = client.send_if_running(&Request::ZccacheFailed { reason });
    }
    if let Some(route) = runner.route.get()
        && let Some(before) = &route.shared_errors
        && let Some(w) =
            crate::shared_cache::warning(before, crate::shared_cache::storage_errors(client))
    {
        report::say(Kind::Warning, format!("fbuild: warning: {w}"));
        // Said: the coordinator's next decision need not say it again.
        let _ = client.send_if_running(&Request::SharedCacheTold);
    }
    if runner.route.deferred() {
        // For the next build: the coordinator starts zccache's daemon on
        // its own; this process does not wait for it.
        let _ = client.send_if_running(&Request::ResolveZccache);
    }
    match firmware? {
        Ok(firmware) => Ok(EnvResult::Built {
            compiled,
            up_to_date,
            firmware,
            board: Box::new(target.recipes.properties().clone()),
        }),
        Err(code) => Ok(EnvResult::ToolFailed(code)),
    }
}

/// The library store for this build (none with `FBUILD_CACHE=none`):
/// what it serves is taken out of `jobs`; returns it and how many
/// compiles it spared.
#[allow(clippy::too_many_arguments)]
fn library_store(
    client: &Client,
    project: &Project,
    env: &EnvConfig,
    target: &target::Target,
    sources: &crate::sources::Sources,
    out_dir: &Path,
    state: &mut BuildState,
    jobs: &mut Vec<Job>,
) -> Result<(LibraryStore, usize)> {
    let settings = client.settings();
    if settings.cache == fbuild_core::settings::CacheKind::None {
        return Ok((LibraryStore::default(), 0));
    }
    let private = [project.root.as_path(), project.build_dir.as_path()];
    let candidates = crate::lib_store::candidates(
        jobs,
        sources,
        &target.recipes,
        out_dir,
        &private,
        env.lib_archive,
    )?;
    if candidates.is_empty() {
        return Ok((LibraryStore::default(), 0));
    }
    let taken = tokio::task::block_in_place(|| {
        LibraryStore::take(
            settings.home.library_store_dir(),
            &settings.home.locks_dir(),
            &private,
            candidates,
            state,
            jobs,
        )
    });
    // The store is an aid: a build never fails for it.
    Ok(taken.unwrap_or_else(|e| {
        report::say(
            Kind::Warning,
            format!(
                "fbuild: warning: the library store cannot be used ({e:#}); building without it"
            ),
        );
        (LibraryStore::default(), 0)
    }))
}

/// Asks the coordinator for the cache route on a thread of its own, so
/// that compiles need not wait for zccache's daemon to start (the thread
/// dies with the process). The receiver hears when `route` is set.
fn route_in_background(client: &Client, route: &CacheRoute, verbose: bool) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let (client, shared) = (client.clone(), route.clone());
    std::thread::spawn(move || {
        let mut told = false;
        let mut on_event = |event: &Event| match event {
            Event::Install(status)
                if !told
                    && matches!(
                        status.phase,
                        InstallPhase::Downloading | InstallPhase::Extracting
                    ) =>
            {
                told = true;
                report::say(
                    Kind::Note,
                    format!(
                        "fbuild: installing {} {} in the background; compiles run uncached until it \
                     is ready",
                        status.name, status.version
                    ),
                );
            }
            Event::Warning { message } => {
                report::say(Kind::Warning, format!("fbuild: warning: {message}"))
            }
            _ => {}
        };
        match client.zccache(true, &mut on_event) {
            Ok(None) => {
                if verbose {
                    report::say(
                        Kind::Verbose,
                        "fbuild: zccache's cache is empty: compiling uncached, its daemon starts \
                         after the build",
                    );
                }
                shared.defer();
            }
            Ok(Some(choice)) => {
                if verbose && choice.path.is_none() {
                    report::say(Kind::Verbose, format!("fbuild: {}", choice.reason));
                }
                if let Some(w) = &choice.warning {
                    report::say(Kind::Warning, format!("fbuild: warning: {w}"));
                }
                let shared_errors = match (&choice.path, choice.source.as_str()) {
                    (Some(_), "sccache") => crate::shared_cache::storage_errors(&client),
                    _ => None,
                };
                shared.set(Route {
                    links: choice.caches_links(),
                    endpoint: choice.endpoint.filter(|_| choice.wire.is_some()),
                    zccache: choice.path,
                    env: choice.env,
                    shared_errors,
                });
            }
            _ => report::say(
                Kind::Warning,
                "fbuild: warning: no zccache from the coordinator; compiling without the cache",
            ),
        }
        let _ = tx.send(());
    });
    rx
}

/// Phase timings for `-v`.
struct Phases {
    start: Instant,
    last: Instant,
    done: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn new() -> Self {
        let now = Instant::now();
        Phases {
            start: now,
            last: now,
            done: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.done.push((phase, now - self.last));
        self.last = now;
    }

    fn line(&self, env: &str) -> String {
        let parts: Vec<String> = self
            .done
            .iter()
            .map(|(p, d)| format!("{p} {} ms", d.as_millis()))
            .collect();
        format!(
            "fbuild: [env:{env}] {} ms: {}",
            self.start.elapsed().as_millis(),
            parts.join(", ")
        )
    }
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
