//! Building one environment: toolchain and zccache from the coordinator,
//! sources, compiles, then archive, link, hex and size.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fbuild_client::Client;
use fbuild_core::protocol::{Event, Reply, Request, Toolchain, ToolchainRequest};
use fbuild_platforms::Board;

use super::Options;
use super::engine::{Job, Outcome, Runner, compile_all};
use super::flags::Flags;
use super::link::{parse_size, report, step, step_hash, write_compdb};
use super::sources::{Group, Layout, collect};
use super::state::BuildState;
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
    let board = board(env)?;
    let out_dir = project.build_dir.join(&env.name);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let toolchain = toolchain(client, env, board).await?;
    let runner = runner(client, project, opts).await?;

    let core = toolchain.core_dir.as_ref().zip(board).map(|(dir, b)| {
        let dir = PathBuf::from(dir);
        (
            dir.join("cores/arduino"),
            dir.join("variants").join(&b.variant),
            dir.join("libraries"),
        )
    });
    // Reading the tree and the sources' includes is blocking file I/O.
    let sources = tokio::task::block_in_place(|| {
        collect(&Layout {
            root: &project.root,
            src_dir: &project.src_dir,
            lib_dir: &project.lib_dir,
            out_dir: &out_dir,
            src_filter: &env.build_src_filter,
            lib_deps: &env.lib_deps,
            core,
        })
    })?;
    let flags = Flags::new(
        board,
        &toolchain,
        &env.build_flags,
        &env.build_unflags,
        &sources.include_dirs,
    );
    let jobs: Vec<Job> = sources
        .units
        .iter()
        .map(|u| {
            let compiler = match u.lang {
                super::sources::Lang::Cxx => &toolchain.cxx,
                _ => &toolchain.cc,
            };
            let mut args = flags.compile(u.lang);
            args.push(u.source.display().to_string());
            args.push("-o".into());
            args.push(u.object.display().to_string());
            Job {
                name: display(&u.object, &out_dir)
                    .trim_end_matches(".o")
                    .to_string(),
                unit: u.clone(),
                compiler: PathBuf::from(compiler),
                args,
            }
        })
        .collect();
    write_compdb(&out_dir.join("compile_commands.json"), &project.root, &jobs)?;

    let state_file = out_dir.join("fbuild-state.json");
    let mut state = BuildState::load(&state_file);
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
    let firmware = link(
        &runner,
        &mut state,
        &toolchain,
        board,
        &flags,
        &sources.units,
        &out_dir,
    )
    .await;
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

/// Archive (core), link, objcopy; Err(code) when a tool failed.
async fn link(
    runner: &Runner,
    state: &mut BuildState,
    tc: &Toolchain,
    board: Option<&Board>,
    flags: &Flags,
    units: &[super::sources::Unit],
    out_dir: &Path,
) -> Result<std::result::Result<PathBuf, i32>> {
    let core_objs: Vec<PathBuf> = units
        .iter()
        .filter(|u| u.group == Group::Core)
        .map(|u| u.object.clone())
        .collect();
    let other_objs: Vec<PathBuf> = units
        .iter()
        .filter(|u| u.group != Group::Core)
        .map(|u| u.object.clone())
        .collect();
    let mut link_inputs = other_objs.clone();
    let mut args: Vec<String> = flags.link.clone();
    let elf = out_dir.join(if board.is_some() {
        "firmware.elf"
    } else {
        "program"
    });
    args.push("-o".into());
    args.push(elf.display().to_string());
    // The linker map (DESIGN.md's project outputs): where every byte went.
    args.push(format!(
        "-Wl,-Map,{}",
        out_dir.join("firmware.map").display()
    ));
    args.extend(other_objs.iter().map(|o| o.display().to_string()));
    if !core_objs.is_empty() {
        let archive = out_dir.join("core.a");
        let mut ar_args = vec!["rcs".to_string(), archive.display().to_string()];
        ar_args.extend(core_objs.iter().map(|o| o.display().to_string()));
        // A fresh archive each time, so removed objects do not linger.
        if !state.up_to_date(&archive, step_hash(Path::new(&tc.ar), &ar_args)) {
            let _ = std::fs::remove_file(&archive);
        }
        if let Some(code) = step(
            runner,
            state,
            &archive,
            Path::new(&tc.ar),
            ar_args,
            &core_objs,
        )
        .await?
            && code != 0
        {
            return Ok(Err(code));
        }
        args.push(archive.display().to_string());
        args.push(format!("-L{}", out_dir.display()));
        link_inputs.push(archive);
    }
    args.extend(flags.link_libs.iter().cloned());
    let linker = if board.is_some() { &tc.cc } else { &tc.cxx };
    if let Some(code) = step(runner, state, &elf, Path::new(linker), args, &link_inputs).await?
        && code != 0
    {
        return Ok(Err(code));
    }
    let Some(board) = board else {
        return Ok(Ok(elf));
    };
    let objcopy = tc
        .objcopy
        .as_deref()
        .context("no objcopy in the toolchain")?;
    let hex = out_dir.join("firmware.hex");
    let eep = out_dir.join("firmware.eep");
    let elf_s = elf.display().to_string();
    let eep_args: Vec<String> = "-O ihex -j .eeprom --set-section-flags=.eeprom=alloc,load --no-change-warnings --change-section-lma .eeprom=0"
        .split_whitespace()
        .map(str::to_string)
        .chain([elf_s.clone(), eep.display().to_string()])
        .collect();
    let hex_args: Vec<String> = [
        "-O",
        "ihex",
        "-R",
        ".eeprom",
        &elf_s,
        &hex.display().to_string(),
    ]
    .map(str::to_string)
    .to_vec();
    for (out, args) in [(&eep, eep_args), (&hex, hex_args)] {
        if let Some(code) = step(
            runner,
            state,
            out,
            Path::new(objcopy),
            args,
            std::slice::from_ref(&elf),
        )
        .await?
            && code != 0
        {
            return Ok(Err(code));
        }
    }
    let size = tc
        .size
        .as_deref()
        .context("no size tool in the toolchain")?;
    let out = tokio::process::Command::new(size)
        .args(["-A", &elf_s])
        .output()
        .await?;
    let (flash, ram) = parse_size(&String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", report(board, flash, ram)?);
    Ok(Ok(elf))
}

fn board(env: &EnvConfig) -> Result<Option<&'static Board>> {
    match env.platform.as_str() {
        "native" => Ok(None),
        platform => {
            let Some(id) = env.board.as_deref() else {
                bail!("[env:{}] needs a `board` for platform {platform}", env.name);
            };
            if env.framework.as_deref().is_some_and(|f| f != "arduino") {
                bail!(
                    "[env:{}]: framework {:?} is not supported (arduino is)",
                    env.name,
                    env.framework
                );
            }
            fbuild_platforms::board(platform, id)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))
        }
    }
}

async fn toolchain(client: &Client, env: &EnvConfig, board: Option<&Board>) -> Result<Toolchain> {
    let request = Request::Toolchain(ToolchainRequest {
        platform: env.platform.clone(),
        mcu: board.map(|b| b.mcu.clone()).unwrap_or_default(),
        framework: board.map(|_| "arduino".to_string()),
        path: std::env::var_os("PATH").unwrap_or_default(),
    });
    match ask(client, request).await? {
        Reply::Toolchain(tc) => Ok(tc),
        Reply::Error { message, .. } => bail!("[env:{}]: {message}", env.name),
        other => bail!("unexpected answer to a toolchain request: {other:?}"),
    }
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

/// A coordinator request off the async threads (the client is blocking).
async fn ask(client: &Client, request: Request) -> Result<Reply> {
    let client = client.clone();
    tokio::task::spawn_blocking(move || {
        let mut progress = crate::progress::InstallProgress::new();
        let served = client.request(&request, &mut |event| match event {
            Event::Install(status) => progress.update(status),
            Event::Warning { message } => eprintln!("fbuild: warning: {message}"),
            _ => {}
        });
        progress.finish();
        served.map(|s| s.reply)
    })
    .await?
    .context("asking the coordinator")
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
