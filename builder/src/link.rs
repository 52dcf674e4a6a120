//! After the compiles: the archives (the core's, and each library's), the
//! link, the objcopies and the size report, from the core's recipes, each
//! step only when its output is out of date.
//!
//! Libraries are archives on the link line (PlatformIO's `lib_archive`,
//! default yes; a library's `build.libArchive: false` and `lib_archive =
//! no` link its objects): the linker takes only the objects something
//! refers to. Linked one by one, a library the finder followed through an
//! `#include` inside a false `#if` (FastLED's `chipsets.h` includes
//! SoftwareSerial) put its interrupt handlers in the firmware — a sketch
//! with its own `ISR(PCINT0_vect)` failed with `multiple definition of
//! __vector_3`. The line is arduino-builder's: the sketch's objects, the
//! libraries, the variant's objects, then the core archive the recipe
//! names; the libraries and the variant's objects are bracketed as a group
//! when an archive is among them, so that they may use each other in any
//! order (seen: a library linked object by object, `libArchive: false`,
//! calling into an archived one failed with an undefined reference).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::recipes::{Archive, Command};
use super::size::Usage;
use super::sources::{Group, Sources};
use super::state::BuildState;
use super::target::Target;
use crate::lib_store::LibraryStore;
use crate::runner::Runner;
use crate::stored::StoredStep;
use fbuild_core::link_inputs;
use fbuild_core::link_store::StepKind;
use fbuild_core::zwire::Kind as ZKind;

/// A tool failed with this exit code (its output was shown).
pub type Failed = i32;

/// Archives, link, objcopies, size; the firmware, or the failed tool's
/// code.
pub async fn link(
    runner: &Runner,
    state: &mut BuildState,
    target: &Target,
    sources: &Sources,
    out_dir: &Path,
    lib_archive: bool,
    store: &mut LibraryStore,
) -> Result<std::result::Result<PathBuf, Failed>> {
    let recipes = &target.recipes;
    let objects = |group: &Group| -> Vec<PathBuf> {
        sources
            .units
            .iter()
            .filter(|u| u.group == *group)
            .map(|u| u.object.clone())
            .collect()
    };
    let mut line: Vec<OsString> = Vec::new();
    let mut inputs: Vec<PathBuf> = Vec::new();
    let mut add = |files: Vec<PathBuf>, line: &mut Vec<OsString>| {
        line.extend(files.iter().map(|f| f.clone().into_os_string()));
        inputs.extend(files);
    };
    add(objects(&Group::Project), &mut line);
    let mut libraries = Vec::new();
    let mut archives = 0;
    for (i, (lib, folder)) in sources.libraries.iter().enumerate() {
        let objs = objects(&Group::Library(i));
        if objs.is_empty() || !(lib_archive && lib.archive) {
            add(objs, &mut libraries);
            continue;
        }
        let archive = recipes.library_archive(folder)?;
        if let Err(code) = stored_archive(
            runner,
            state,
            store,
            Group::Library(i),
            &objs,
            &archive,
            target,
        )
        .await?
        {
            return Ok(Err(code));
        }
        archives += 1;
        add(vec![archive.path], &mut libraries);
    }
    add(objects(&Group::Variant), &mut libraries);
    match recipes.link_group().filter(|_| archives > 0) {
        Some((start, end)) => {
            line.push(start.into());
            line.append(&mut libraries);
            line.push(end.into());
        }
        None => line.append(&mut libraries),
    }
    let core = objects(&Group::Core);
    if !core.is_empty() {
        let archive = recipes.core_archive()?;
        if let Err(code) =
            stored_archive(runner, state, store, Group::Core, &core, &archive, target).await?
        {
            return Ok(Err(code));
        }
        inputs.push(archive.path);
    }
    run_hooks(runner, target, "linking.prelink").await?;
    let (cmd, elf) = recipes.link(&line, &out_dir.join("firmware.map"))?;
    // Through a cache only when the key covers every input: the files on
    // the line, and the toolchain's own by the fingerprint of its library
    // folders (see `fbuild_core::link_inputs`): fbuild's link store, or
    // zccache with FBUILD_CACHE_LINKS=on.
    let text: Vec<String> = cmd
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let known = target
        .link_dirs
        .as_ref()
        .filter(|_| link_inputs::cacheable(&text, &runner.cwd, link_inputs::Linker::Driver));
    let mut cmd = cmd;
    let via = match known {
        // zccache's key goes on the line (a changed toolchain relinks).
        Some(known) if fbuild_core::settings::cache_links() => {
            match link_inputs::key_flag(&text, &runner.cwd, known, runner.link_store.as_deref()) {
                Some(key) => {
                    cmd.args.push(key.into());
                    Via::Zccache
                }
                None => Via::Alone,
            }
        }
        // The store's fingerprint only when the link runs: it walks the
        // toolchain's library folders (tens of ms), which a no-op must not.
        Some(known) => Via::Store {
            fingerprint: Fingerprint::OfLink(known.clone()),
            kind: StepKind::Link,
        },
        None => Via::Alone,
    };
    if let Err(code) = step(runner, state, &elf, &cmd, &inputs, via).await? {
        return Ok(Err(code));
    }
    run_hooks(runner, target, "linking.postlink").await?;
    run_hooks(runner, target, "objcopy.preobjcopy").await?;
    for (cmd, output) in recipes.objcopies()? {
        // Through the store when it is a plain objcopy of the firmware.
        let via = Via::Store {
            fingerprint: Fingerprint::None,
            kind: StepKind::Objcopy {
                input: elf.clone(),
                output: output.clone(),
            },
        };
        let elf = std::slice::from_ref(&elf);
        if let Err(code) = step(runner, state, &output, &cmd, elf, via).await? {
            return Ok(Err(code));
        }
    }
    run_hooks(runner, target, "objcopy.postobjcopy").await?;
    size_report(state, target, &elf).await?;
    Ok(Ok(elf))
}

/// Prints the size report (the size tool runs only for a changed
/// firmware).
async fn size_report(state: &mut BuildState, target: &Target, elf: &Path) -> Result<()> {
    let recipes = &target.recipes;
    let Some(size) = recipes.size()? else {
        return Ok(());
    };
    let hash = super::state::command_hash(&size.line());
    let stdout = match state.size_output(hash, elf) {
        Some(known) => known.to_string(),
        None => {
            let tool = fbuild_core::tool::Tool::new(&size.program).args(&size.args);
            let out = tokio::process::Command::from(tool.command())
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .with_context(|| format!("running {}", size.program.display()))?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() {
                state.remember_size(hash, elf, stdout.clone());
            }
            stdout
        }
    };
    let usage = Usage::from_recipes(recipes, &stdout)?;
    crate::report::say(
        crate::report::Kind::Summary,
        usage.report(&target.board_name)?,
    );
    Ok(())
}

/// A group's archive: the library store's (already in place), else made
/// here and offered to the store.
async fn stored_archive(
    runner: &Runner,
    state: &mut BuildState,
    store: &mut LibraryStore,
    group: Group,
    objects: &[PathBuf],
    archive: &Archive,
    target: &Target,
) -> Result<std::result::Result<(), Failed>> {
    if store.serves(&group) {
        return Ok(Ok(()));
    }
    let made = archive_step(runner, state, objects, archive, target).await?;
    if made.is_ok() {
        tokio::task::block_in_place(|| store.made(&group, state));
    }
    Ok(made)
}

/// Makes `archive` from `objects` unless it is up to date: a fresh archive
/// each time, so removed objects do not linger.
async fn archive_step(
    runner: &Runner,
    state: &mut BuildState,
    objects: &[PathBuf],
    archive: &Archive,
    target: &Target,
) -> Result<std::result::Result<(), Failed>> {
    let commands = target.recipes.archive(objects, archive)?;
    let line: Vec<OsString> = commands
        .iter()
        .flat_map(|c| c.line().into_iter().chain([OsString::from("&&")]))
        .collect();
    let Some(why) = state.dirty(&archive.path, &line) else {
        return Ok(Ok(()));
    };
    runner.explain(&shown(&archive.path, runner), &why);
    match std::fs::remove_file(&archive.path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", archive.path.display()));
        }
        _ => {}
    }
    // One call writes the whole (just removed) archive: the cache may
    // serve it. Object by object, each call reads the archive the one
    // before wrote, which zccache 1.15.8 does not key (see the shim's
    // rewrites): those run alone.
    let whole = commands.len() == 1;
    for cmd in &commands {
        let code = match deterministic(&cmd.args).filter(|_| whole) {
            Some(args) if fbuild_core::settings::cache_links() => {
                runner.run_as(&cmd.program, &args, ZKind::Link).await?
            }
            Some(args) => {
                let step = StoredStep {
                    program: &cmd.program,
                    args: &args,
                    fingerprint: String::new(),
                    kind: StepKind::Archive,
                };
                runner.run_stored(step).await?
            }
            None => runner.run_direct(&cmd.program, &cmd.args).await?,
        };
        if code != 0 {
            return Ok(Err(code));
        }
    }
    state.record(&archive.path, &line, objects);
    Ok(Ok(()))
}

/// `ar`'s arguments with the `D` modifier (zero timestamps and owners:
/// what Debian's ar writes by default), which zccache requires to cache an
/// archive; `None` when the first argument is not a plain modifier word or
/// asks for `U` (non-deterministic on purpose).
fn deterministic(args: &[OsString]) -> Option<Vec<OsString>> {
    let modifiers = link_inputs::archive_modifiers(args.first()?.to_str()?)?;
    let mut args = args.to_vec();
    args[0] = modifiers.into();
    Some(args)
}

/// How a step runs: alone, through fbuild's link store (a link with the
/// toolchain's fingerprint, an objcopy), or through zccache (its key on
/// the line).
enum Via {
    Alone,
    Store {
        fingerprint: Fingerprint,
        kind: StepKind,
    },
    Zccache,
}

/// A stored step's toolchain fingerprint: none, or a driver's link's from
/// these library folders (`link_inputs::key_flag`), made when it runs.
enum Fingerprint {
    None,
    OfLink(Vec<PathBuf>),
}

/// Runs `cmd` unless `output` is up to date for these inputs, `via` a
/// cache or alone.
async fn step(
    runner: &Runner,
    state: &mut BuildState,
    output: &Path,
    cmd: &Command,
    inputs: &[PathBuf],
    via: Via,
) -> Result<std::result::Result<(), Failed>> {
    let line = cmd.line();
    let Some(why) = state.dirty(output, &line) else {
        return Ok(Ok(()));
    };
    runner.explain(&shown(output, runner), &why);
    match run_via(runner, cmd, via).await? {
        0 => {
            state.record(output, &line, inputs);
            Ok(Ok(()))
        }
        code => Ok(Err(code)),
    }
}

/// Runs `cmd` `via` a cache or alone; its exit code.
async fn run_via(runner: &Runner, cmd: &Command, via: Via) -> Result<i32> {
    let (fingerprint, kind) = match via {
        Via::Zccache => return runner.run_as(&cmd.program, &cmd.args, ZKind::Link).await,
        Via::Alone => return runner.run_direct(&cmd.program, &cmd.args).await,
        Via::Store { fingerprint, kind } => (fingerprint, kind),
    };
    let fingerprint = match fingerprint {
        Fingerprint::None => Some(String::new()),
        Fingerprint::OfLink(known) => {
            let text: Vec<String> = cmd
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            link_inputs::key_flag(&text, &runner.cwd, &known, runner.link_store.as_deref())
        }
    };
    let Some(fingerprint) = fingerprint else {
        return runner.run_direct(&cmd.program, &cmd.args).await;
    };
    let step = StoredStep {
        program: &cmd.program,
        args: &cmd.args,
        fingerprint,
        kind,
    };
    runner.run_stored(step).await
}

/// Runs a hook stage's commands; a failing hook fails the build.
pub async fn run_hooks(runner: &Runner, target: &Target, stage: &str) -> Result<()> {
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

/// A build output as messages show it: under the project, relative.
fn shown(path: &Path, runner: &Runner) -> String {
    path.strip_prefix(&runner.cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}
