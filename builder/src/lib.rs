//! The build engine as a library: firmware from a `platformio.ini` project
//! (`project`), in parallel, incrementally, every compile through the
//! coordinator's zccache. The driver's `build`/`clean`, `deploy` and the
//! benchmarks call it. One tokio runtime per build; blocking work (the
//! coordinator client, the project lock) runs on `spawn_blocking`.

mod ask;
mod commands;
mod compdb;
mod engine;
mod env;
mod error;
mod files;
pub use files::glob;
mod inputs;
mod ldf;
pub mod lib_cmd;
mod lib_store;
mod lib_store_key;
mod libs;
mod link;
mod lock;
mod observed;
mod path_keys;
pub mod progress;
pub mod project;
mod recipes;
pub mod report;
mod runner;
mod runtime_props;
mod shared_cache;
mod size;
pub mod sketch;
mod sources;
mod sources_memo;
mod state;
mod stored;
mod summary;
mod target;
mod target_board;
mod target_toolchain;
mod terminal;
mod text_key;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use fbuild_client::Client;
use fbuild_platforms::arduino::Properties;

use crate::project::Project;
use crate::report::Kind;
use env::{EnvResult, build_env};
pub use error::BuildError;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The project folder (with platformio.ini).
    pub project_dir: PathBuf,
    /// Environments to build (empty: default_envs, else all).
    pub envs: Vec<String>,
    /// Parallel compiles (`None`: the number of cores).
    pub jobs: Option<usize>,
    /// Remove the environment's build outputs first.
    pub clean: bool,
    /// Show every command.
    pub verbose: bool,
    /// `--locked`: fail when `fbuild.lock` does not match `lib_deps`.
    pub locked: bool,
    /// `-k`: after a failed compile, compile everything else and report
    /// every failure (no link).
    pub keep_going: bool,
}

pub struct Options {
    pub jobs: usize,
    pub verbose: bool,
    pub keep_going: bool,
    pub lock_mode: libs::LockMode,
}

/// Loads the project, printing its warnings (each once per command: a
/// deploy loads it twice); config errors exit 1.
pub fn load(dir: &Path) -> Result<Project, BuildError> {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // Not std's canonicalize: on Windows it gives `\\?\C:\…`, which
    // compilers (TinyCC, MinGW's gcc) misread in -I and source paths.
    let root =
        dunce::canonicalize(dir).with_context(|| format!("project folder {}", dir.display()))?;
    let project = Project::load(&root)?;
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    for w in &project.warnings {
        if !said.contains(w) {
            report::say(Kind::Warning, format!("fbuild: warning: {w}"));
            said.push(w.clone());
        }
    }
    Ok(project)
}

/// What a build did: the failing tool's exit code, if one failed (the
/// driver makes it the process's), and each built environment's board
/// properties as the build resolved them (deploy's upload recipe reads
/// them: no second resolution).
#[derive(Debug, Default)]
pub struct BuildOutcome {
    pub failed: Option<i32>,
    pub boards: std::collections::BTreeMap<String, Properties>,
}

/// Builds the selected environments, stopping at the first that fails.
pub fn build(args: &BuildRequest) -> Result<BuildOutcome, BuildError> {
    let project = load(&args.project_dir)?;
    let envs = project.select(&args.envs)?;
    let opts = Options {
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        verbose: args.verbose,
        keep_going: args.keep_going,
        lock_mode: if args.locked {
            libs::LockMode::Locked
        } else {
            libs::LockMode::Use
        },
    };
    let client = Client::from_env()?;
    let runtime = runtime(opts.jobs)?;
    let _lock = lock::ProjectLock::acquire(&project.build_dir)?;
    let mut outcome = BuildOutcome::default();
    let several = envs.len() > 1;
    let mut done = Vec::new();
    for env in envs {
        if args.clean {
            remove_env(&project, &env.name)?;
        }
        let start = Instant::now();
        // Before each environment's report, one or several (as
        // PlatformIO): its size report says whose it is.
        report::say(Kind::Summary, summary::header(env));
        let built = runtime.block_on(build_env(&client, &project, env, &opts));
        let ok = match built {
            Ok(EnvResult::Built {
                compiled,
                up_to_date,
                firmware,
                board,
            }) => {
                report::say(
                    Kind::Summary,
                    format!(
                        "fbuild: [{}] {} in {:.2} s ({compiled} compiled, {up_to_date} up to date)",
                        env.name,
                        firmware
                            .strip_prefix(&project.root)
                            .unwrap_or(&firmware)
                            .display(),
                        start.elapsed().as_secs_f64()
                    ),
                );
                outcome.boards.insert(env.name.clone(), *board);
                true
            }
            Ok(EnvResult::ToolFailed(code)) => {
                report::say(Kind::Summary, format!("fbuild: [{}] failed", env.name));
                outcome.failed.get_or_insert(code);
                false
            }
            // One environment's error ends only its build when there are
            // several (as PlatformIO): said here, counted as failed.
            Err(e) if several => {
                report::say(Kind::Error, format!("fbuild: error: {e:#}"));
                outcome.failed.get_or_insert(1);
                false
            }
            Err(e) => return Err(e.into()),
        };
        done.push((env.name.clone(), ok, start.elapsed()));
    }
    if several {
        report::say(Kind::Summary, summary::table(&done));
        // As PlatformIO: 1 when any failed (one tool's code stands for
        // one environment only).
        outcome.failed = outcome.failed.map(|_| 1);
    }
    // Everything is written; the idle workers need not be joined (a few
    // hundred microseconds of a no-op build).
    runtime.shutdown_background();
    Ok(outcome)
}

/// A build's runtime: compiles are spawned on it, `jobs` at a time.
fn runtime(jobs: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.clamp(1, 4))
        .enable_all()
        .build()?)
}

/// What [`build_one`] made.
pub enum Built {
    /// The program (native) or firmware ELF, and the board's properties as
    /// the build resolved them.
    Firmware {
        firmware: PathBuf,
        board: Box<Properties>,
    },
    /// A tool failed with this exit code (its output was shown).
    Failed(i32),
}

/// Builds one environment of a project the caller adjusted (`fbuild test`:
/// a suite as `src_dir`, its own `build_dir`, the test runtime among the
/// libraries), quietly unless `verbose`.
pub fn build_one(
    project: &Project,
    env: &project::EnvConfig,
    jobs: usize,
    verbose: bool,
) -> Result<Built, BuildError> {
    let opts = Options {
        jobs,
        verbose,
        keep_going: false,
        lock_mode: libs::LockMode::Use,
    };
    let client = Client::from_env()?;
    let runtime = runtime(jobs)?;
    let _lock = lock::ProjectLock::acquire(&project.build_dir)?;
    Ok(
        match runtime.block_on(build_env(&client, project, env, &opts))? {
            EnvResult::Built {
                firmware, board, ..
            } => Built::Firmware { firmware, board },
            EnvResult::ToolFailed(code) => Built::Failed(code),
        },
    )
}

/// The properties of `env`'s board as the build uses them (platform.txt,
/// boards.txt with menus, overrides, the build's own values such as
/// `build.path`): what deploy needs for the core's upload recipe.
pub fn board_properties(
    project: &Project,
    env: &project::EnvConfig,
) -> Result<Properties, BuildError> {
    Ok(resolve_target(project, env)?.recipes.properties().clone())
}

/// `env`'s target resolved without building (the coordinator asked).
fn resolve_target(
    project: &Project,
    env: &project::EnvConfig,
) -> Result<target::Target, BuildError> {
    let client = Client::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let out_dir = project.build_dir.join(&env.name);
    Ok(runtime.block_on(target::resolve(&client, env, &project.root, &out_dir))?)
}

/// What an earlier build of `env` wrote (`fbuild test --without-building`):
/// its firmware (the core's link output) and its board's properties; an
/// error when the firmware is not there.
pub fn built_firmware(
    project: &Project,
    env: &project::EnvConfig,
) -> Result<(PathBuf, Properties), BuildError> {
    let target = resolve_target(project, env)?;
    let out_dir = project.build_dir.join(&env.name);
    let (_, firmware) = target
        .recipes
        .link(&[], &out_dir.join("firmware.map"))
        .map_err(BuildError::from)?;
    if !firmware.is_file() {
        return Err(anyhow::anyhow!(
            "{} was not built: run without --without-building first",
            firmware.display()
        )
        .into());
    }
    Ok((firmware, target.recipes.properties().clone()))
}

/// Removes the build outputs of `envs` (all when empty).
pub fn clean(project_dir: &Path, envs: &[String]) -> Result<(), BuildError> {
    let project = load(project_dir)?;
    let _lock = lock::ProjectLock::acquire(&project.build_dir)?;
    if envs.is_empty() {
        if project.build_dir.exists() {
            let dir = &project.build_dir;
            let entries =
                std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
        }
        report::say(
            Kind::Summary,
            format!("fbuild: removed {}", project.build_dir.display()),
        );
    } else {
        for env in project.select(envs)? {
            remove_env(&project, &env.name)?;
        }
    }
    Ok(())
}

fn remove_env(project: &Project, env: &str) -> Result<()> {
    let dir = project.build_dir.join(env);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => report::say(Kind::Summary, format!("fbuild: removed {}", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", dir.display())),
    }
    Ok(())
}
