//! Building one environment: its target (core, board, toolchain) and
//! zccache from the coordinator, sources, compiles, then the core's
//! archive, link, objcopy and size recipes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fbuild_client::Client;
use fbuild_core::protocol::{Reply, Request};

use super::Options;
use super::ask::ask;
use super::engine::{Job, Outcome, Runner, compile_all};
use super::link::{Usage, step, step_hash, write_compdb};
use super::sources::{Group, Layout, collect};
use super::state::BuildState;
use super::target::{self, Target};
use crate::project::{EnvConfig, Project};

/// What a finished environment build reports.
pub enum EnvResult {
    Built {
        compiled: usize,
        up_to_date: usize,
        firmware: PathBuf,
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
    let out_dir = project.build_dir.join(&env.name);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let target = target::resolve(client, env, &project.root, &out_dir).await?;
    let runner = runner(client, project, opts).await?;

    // Reading the tree and the sources' includes is blocking file I/O.
    let sources = tokio::task::block_in_place(|| {
        collect(&Layout {
            root: &project.root,
            src_dir: &project.src_dir,
            lib_dir: &project.lib_dir,
            out_dir: &out_dir,
            src_filter: &env.build_src_filter,
            lib_deps: &env.lib_deps,
            core: target.core_layout(),
        })
    })?;
    let jobs = sources
        .units
        .iter()
        .map(|u| {
            let cmd =
                target
                    .recipes
                    .compile(u.lang, &u.source, &u.object, &sources.include_dirs)?;
            Ok(Job {
                name: display(&u.object, &out_dir)
                    .trim_end_matches(".o")
                    .to_string(),
                unit: u.clone(),
                compiler: cmd.program,
                args: cmd.args,
            })
        })
        .collect::<Result<Vec<Job>>>()?;
    write_compdb(&out_dir.join("compile_commands.json"), &project.root, &jobs)?;

    let state_file = out_dir.join("fbuild-state.json");
    let mut state = BuildState::load(&state_file);
    run_hooks(&runner, &target, "prebuild").await?;
    let progress = crate::progress::CompileProgress::new(&env.name, opts.verbose);
    let outcome = compile_all(&runner, jobs, &mut state, opts.jobs, &progress).await;
    state
        .save(&state_file)
        .with_context(|| format!("writing {}", state_file.display()))?;
    let (compiled, up_to_date) = match outcome? {
        Outcome::Done {
            compiled,
            up_to_date,
        } => (compiled, up_to_date),
        Outcome::Failed(code) => return Ok(EnvResult::ToolFailed(code)),
    };
    let firmware = link(&runner, &mut state, &target, &sources.units, &out_dir).await;
    state
        .save(&state_file)
        .with_context(|| format!("writing {}", state_file.display()))?;
    match firmware? {
        Ok(firmware) => Ok(EnvResult::Built {
            compiled,
            up_to_date,
            firmware,
        }),
        Err(code) => Ok(EnvResult::ToolFailed(code)),
    }
}

/// Runs a hook stage's commands; a failing hook fails the build.
async fn run_hooks(runner: &Runner, target: &Target, stage: &str) -> Result<()> {
    for cmd in target.recipes.hooks(stage)? {
        let code = runner.run_direct(&cmd.program, &cmd.args).await?;
        if code != 0 {
            bail!(
                "the core's {} failed: {} exited with {code}",
                cmd.recipe,
                cmd.program.display()
            );
        }
    }
    Ok(())
}

/// Archive (core), link, objcopy, size; Err(code) when a tool failed.
async fn link(
    runner: &Runner,
    state: &mut BuildState,
    target: &Target,
    units: &[super::sources::Unit],
    out_dir: &Path,
) -> Result<std::result::Result<PathBuf, i32>> {
    let recipes = &target.recipes;
    let of = |core: bool| -> Vec<PathBuf> {
        units
            .iter()
            .filter(|u| (u.group == Group::Core) == core)
            .map(|u| u.object.clone())
            .collect()
    };
    let (core_objs, other_objs) = (of(true), of(false));
    let mut link_inputs = other_objs.clone();
    if !core_objs.is_empty() {
        let archive = recipes.archive_path()?;
        let commands = recipes.archive(&core_objs)?;
        let hash = commands.iter().fold(0u64, |h, c| {
            h.rotate_left(5) ^ step_hash(&c.program, &c.args)
        });
        // A fresh archive each time, so removed objects do not linger.
        if !state.up_to_date(&archive, hash) {
            let _ = std::fs::remove_file(&archive);
            for cmd in &commands {
                let code = runner.run_direct(&cmd.program, &cmd.args).await?;
                if code != 0 {
                    return Ok(Err(code));
                }
            }
            state.record(&archive, hash, &core_objs);
        }
        link_inputs.push(archive);
    }
    run_hooks(runner, target, "linking.prelink").await?;
    let (cmd, elf) = recipes.link(&other_objs, &out_dir.join("firmware.map"))?;
    if let Some(code) = step(runner, state, &elf, &cmd.program, cmd.args, &link_inputs).await?
        && code != 0
    {
        return Ok(Err(code));
    }
    run_hooks(runner, target, "linking.postlink").await?;
    run_hooks(runner, target, "objcopy.preobjcopy").await?;
    for (cmd, output) in recipes.objcopies()? {
        let inputs = std::slice::from_ref(&elf);
        if let Some(code) = step(runner, state, &output, &cmd.program, cmd.args, inputs).await?
            && code != 0
        {
            return Ok(Err(code));
        }
    }
    run_hooks(runner, target, "objcopy.postobjcopy").await?;
    if let Some(size) = recipes.size()? {
        let out = tokio::process::Command::new(&size.program)
            .args(&size.args)
            .output()
            .await
            .with_context(|| format!("running {}", size.program.display()))?;
        let usage = Usage::from_recipes(recipes, &String::from_utf8_lossy(&out.stdout))?;
        eprintln!("{}", usage.report(&target.board_name)?);
    }
    Ok(Ok(elf))
}

/// zccache for the compiles, as the coordinator decided; none if it cannot.
async fn runner(client: &Client, project: &Project, opts: &Options) -> Result<Runner> {
    let mut runner = Runner {
        zccache: None,
        env: Vec::new(),
        cwd: project.root.clone(),
        verbose: opts.verbose,
        cache_failed: Default::default(),
    };
    match ask(client, Request::ResolveZccache).await {
        Ok(Reply::Zccache(choice)) => {
            if let Some(path) = choice.path {
                runner.zccache = Some(path);
                runner.env = choice.env;
            } else if opts.verbose {
                eprintln!("fbuild: {}", choice.reason);
            }
        }
        Ok(_) | Err(_) => eprintln!(
            "fbuild: warning: no zccache from the coordinator; compiling without the cache"
        ),
    }
    Ok(runner)
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
