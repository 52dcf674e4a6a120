//! `fbuild build` and `fbuild clean`: the command-line face of the build
//! engine (`fbuild_builder`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use fbuild_builder::BuildRequest;

#[derive(Args)]
pub struct BuildArgs {
    /// The project folder (with platformio.ini).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
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
    /// The project folder (with platformio.ini).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// Environments to clean (default: all).
    #[arg(short = 'e', long = "environment")]
    env: Vec<String>,
}

pub fn build(args: BuildArgs) -> Result<ExitCode> {
    let outcome = fbuild_builder::build(&BuildRequest {
        project_dir: args.project_dir,
        envs: args.env,
        jobs: args.jobs,
        clean: args.clean,
        verbose: args.verbose,
        locked: args.locked,
        keep_going: args.keep_going,
    })?;
    Ok(exit_code(outcome.failed))
}

/// A failed tool's exit code as the process's (1–255), else success.
pub fn exit_code(failed: Option<i32>) -> ExitCode {
    match failed {
        Some(code) => ExitCode::from(code.clamp(1, 255) as u8),
        None => ExitCode::SUCCESS,
    }
}

pub fn clean(args: CleanArgs) -> Result<ExitCode> {
    fbuild_builder::clean(&args.project_dir, &args.env)?;
    Ok(ExitCode::SUCCESS)
}
