//! `fbuild lib list|update`: a project's library dependencies (see
//! `fbuild_builder::lib_cmd`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum LibAction {
    /// Print the resolved libraries of each environment as a tree
    /// (resolving and writing fbuild.lock if it is missing or stale).
    List {
        #[arg(default_value = ".")]
        project_dir: PathBuf,
        #[arg(short = 'e', long = "environment")]
        env: Vec<String>,
    },
    /// Resolve lib_deps afresh (newest versions that fit) and rewrite
    /// fbuild.lock.
    Update {
        #[arg(default_value = ".")]
        project_dir: PathBuf,
        #[arg(short = 'e', long = "environment")]
        env: Vec<String>,
    },
}

pub fn run(action: LibAction) -> Result<ExitCode> {
    match action {
        LibAction::List { project_dir, env } => {
            fbuild_builder::lib_cmd::run(&project_dir, &env, false)?
        }
        LibAction::Update { project_dir, env } => {
            fbuild_builder::lib_cmd::run(&project_dir, &env, true)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
