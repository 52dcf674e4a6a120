//! `fbuild build` and `fbuild clean`: the command-line face of the build
//! engine (`fbuild_builder`).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use fbuild_builder::BuildRequest;

use crate::args::ProjectDir;

#[derive(Args)]
pub struct BuildArgs {
    #[command(flatten)]
    project: ProjectDir,
    /// PlatformIO's targets: `upload` (build, then flash: as `fbuild
    /// deploy`), `monitor` (then watch the port), `clean` (remove the
    /// outputs instead of building), `size` (the size report, printed by
    /// every build), `compiledb` (compile_commands.json also in the
    /// project folder, where clangd looks).
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    targets: Vec<String>,
    /// Serial port for `-t upload` and `-t monitor` (default: upload_port,
    /// else the one board found).
    #[arg(short = 'p', long = "upload-port", value_name = "PORT")]
    upload_port: Option<String>,
    /// Serial port for `-t monitor` (default: monitor_port, else the
    /// upload port).
    #[arg(long = "monitor-port", value_name = "PORT")]
    monitor_port: Option<String>,
    /// Environments to build (default: default_envs, else all).
    #[arg(short = 'e', long = "environment")]
    env: Vec<String>,
    /// Parallel compiles (default: the number of cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Remove the environment's build outputs first.
    #[arg(long)]
    clean: bool,
    /// Show every command.
    #[arg(short, long)]
    verbose: bool,
    /// Fail if fbuild.lock does not match lib_deps (instead of updating it).
    #[arg(long)]
    locked: bool,
    /// After a failed compile, compile everything else and report every
    /// error (without it, the first failure starts no new compile).
    #[arg(short = 'k', long)]
    keep_going: bool,
}

#[derive(Args)]
pub struct CleanArgs {
    #[command(flatten)]
    project: ProjectDir,
    /// Environments to clean (default: all).
    #[arg(short = 'e', long = "environment")]
    env: Vec<String>,
}

/// PlatformIO's `-t` targets fbuild knows.
const TARGETS: &[&str] = &[
    "upload",
    "monitor",
    "clean",
    "size",
    "compiledb",
    "buildprog",
];

pub fn build(args: BuildArgs) -> Result<ExitCode> {
    let dir = args.project.path();
    if let Some(bad) = args.targets.iter().find(|t| !TARGETS.contains(&t.as_str())) {
        bail!(
            "unknown target {bad:?} (-t); fbuild knows: {}",
            TARGETS.join(", ")
        );
    }
    let wants = |t: &str| args.targets.iter().any(|x| x == t);
    // A port no target takes is said, not dropped: -p flashes (-t upload)
    // or, without --monitor-port, is watched (-t monitor).
    let monitor_takes_p = wants("monitor") && args.monitor_port.is_none();
    if args.upload_port.is_some() && !wants("upload") && !monitor_takes_p {
        eprintln!(
            "fbuild: warning: -p/--upload-port is used by -t upload (and by -t monitor without --monitor-port) only; it is not used here"
        );
    }
    if args.monitor_port.is_some() && !wants("monitor") {
        eprintln!("fbuild: warning: --monitor-port is used by -t monitor only; nothing is watched");
    }
    if wants("clean") {
        return clean(CleanArgs {
            project: ProjectDir::of(dir),
            env: args.env,
        });
    }
    if wants("upload") {
        // One environment: the one named, else deploy's default (the first
        // of default_envs, else of the file).
        let env = match args.env.as_slice() {
            [] => None,
            [env] => Some(env.clone()),
            _ => bail!("-t upload flashes one environment: name one with -e"),
        };
        // The build before it as this command's flags ask (-j, -v, …).
        let build = BuildRequest {
            project_dir: dir.clone(),
            envs: Vec::new(),
            jobs: args.jobs,
            clean: args.clean,
            verbose: args.verbose,
            locked: args.locked,
            keep_going: false,
        };
        let uploaded = crate::deploy_cmd::deploy(crate::deploy_cmd::DeployArgs::upload(
            build,
            env.clone(),
            args.upload_port,
            wants("monitor").then_some(args.monitor_port),
        ));
        // The build wrote its database before the upload: copied too.
        if wants("compiledb")
            && let Err(e) = compiledb(&dir, &env.into_iter().collect::<Vec<_>>())
        {
            eprintln!("fbuild: warning: {e:#}");
        }
        return uploaded;
    }
    let outcome = fbuild_builder::build(&BuildRequest {
        project_dir: dir.clone(),
        envs: args.env.clone(),
        jobs: args.jobs,
        clean: args.clean,
        verbose: args.verbose,
        locked: args.locked,
        keep_going: args.keep_going,
    })?;
    // The database is written before anything compiles: a build that
    // failed still gives clangd its commands.
    if wants("compiledb") {
        match (compiledb(&dir, &args.env), outcome.failed) {
            (Err(e), None) => return Err(e),
            (Err(e), Some(_)) => eprintln!("fbuild: warning: {e:#}"),
            (Ok(()), _) => {}
        }
    }
    if outcome.failed.is_some() {
        return Ok(crate::args::exit_code(outcome.failed));
    }
    if wants("monitor") {
        return crate::monitor_cmd::monitor(crate::monitor_cmd::MonitorArgs::of(
            dir,
            args.env.first().cloned(),
            args.monitor_port.or(args.upload_port),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `-t compiledb`: the environment's compile_commands.json copied to the
/// project folder (the first chosen environment's, else the first built).
fn compiledb(dir: &std::path::Path, envs: &[String]) -> Result<()> {
    let project = fbuild_builder::load(dir)?;
    let env = project.select(envs)?[0];
    let from = project
        .build_dir
        .join(&env.name)
        .join("compile_commands.json");
    let to = project.root.join("compile_commands.json");
    // Beside, then renamed: clangd never reads half a file.
    fbuild_core::link_store::copy_over(&from, &to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    eprintln!("fbuild: [{}] wrote {}", env.name, to.display());
    Ok(())
}

pub fn clean(args: CleanArgs) -> Result<ExitCode> {
    fbuild_builder::clean(&args.project.path(), &args.env)?;
    Ok(ExitCode::SUCCESS)
}
