//! Scheduling the compiles: every out-of-date unit under a `-j`
//! semaphore, run by the build's [`Runner`] (the cache route arrives while
//! the build runs: compiles that start before it run uncached), the first
//! failure starting no new compile unless `-k`. Up-to-date units (same
//! command, unchanged inputs) run nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::sources::Unit;
use super::state::{BuildState, Dirty, Inputs};
use crate::progress::CompileProgress;
use crate::report::{self, Kind};
use crate::runner::Runner;

/// A compile to run: the compiler and its arguments.
#[derive(Debug, Clone)]
pub struct Job {
    /// What progress shows: the object's path under the build dir.
    pub name: String,
    pub unit: Unit,
    pub compiler: PathBuf,
    pub args: Vec<OsString>,
    /// The compiler's own stamp (size, mtime): a compiler upgraded in
    /// place makes every object of it out of date.
    pub compiler_stamp: String,
}

impl Job {
    pub fn command(&self) -> Vec<OsString> {
        let mut v = vec![self.compiler.clone().into_os_string()];
        v.extend(self.args.iter().cloned());
        v
    }

    /// The command as the build's state records it: with the compiler's
    /// stamp.
    fn recorded(&self) -> Vec<OsString> {
        let mut v = self.command();
        v.push(format!("(compiler {})", self.compiler_stamp).into());
        v
    }
}

pub enum Outcome {
    /// Compiled this many, this many were up to date.
    Done { compiled: usize, up_to_date: usize },
    /// A compiler failed with this exit code (its output was printed).
    Failed(i32),
}

/// How an environment's compiles run.
pub struct Schedule<'a> {
    /// Compiles at once.
    pub jobs: usize,
    /// `-k`: compile everything possible after a failure and report every
    /// failed file; else the first failure starts no new compile.
    pub keep_going: bool,
    /// Written when compiles begin: the build's clock (see `inputs`).
    pub clock: &'a Path,
    /// Objects a new header may shadow, with its name (see
    /// `BuildState::new_headers`).
    pub shadowed: &'a [(PathBuf, String)],
}

/// Compiles every job that is not up to date, `jobs` at a time; with `-v`
/// says why each one compiles.
pub async fn compile_all(
    runner: &Runner,
    work: Vec<Job>,
    state: &mut BuildState,
    schedule: &Schedule<'_>,
    progress: &CompileProgress,
    before_compiling: impl FnOnce(),
) -> Result<Outcome> {
    let mut seen = Inputs::keyed_under(&runner.cwd);
    let total = work.len();
    let todo = out_of_date(runner, work, state, &mut seen, schedule.shadowed);
    let up_to_date = total - todo.len();
    if todo.is_empty() {
        return Ok(Outcome::Done {
            compiled: 0,
            up_to_date,
        });
    }
    before_compiling();
    // Everything these compiles are known to read is read before any of
    // them starts; then the clock.
    for job in &todo {
        seen.before(&job.unit.source);
        for path in state.inputs_of(&job.unit.object) {
            seen.before(path);
        }
    }
    seen.start_clock(schedule.clock)
        .with_context(|| format!("writing {}", schedule.clock.display()))?;
    let total = todo.len();
    progress.begin(total);
    let finish = Finish(progress);
    let run = run_all(runner, todo, state, &mut seen, schedule, progress).await?;
    drop(finish);
    let Some(&(_, code)) = run.failed.first() else {
        return Ok(Outcome::Done {
            compiled: run.compiled,
            up_to_date,
        });
    };
    runner.report_failures(&run.failed, total, run.not_started);
    Ok(Outcome::Failed(code))
}

/// What [`run_all`] did.
struct Ran {
    compiled: usize,
    /// Failed compiles: name, exit code.
    failed: Vec<(String, i32)>,
    /// Compiles not started after a failure.
    not_started: usize,
}

/// Runs `todo`, `schedule.jobs` at a time, recording each compile that
/// succeeds; after a failure, starts no new one unless `keep_going`.
async fn run_all(
    runner: &Runner,
    todo: Vec<Job>,
    state: &mut BuildState,
    seen: &mut Inputs,
    schedule: &Schedule<'_>,
    progress: &CompileProgress,
) -> Result<Ran> {
    let mut queue = todo.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let (mut compiled, mut failed, mut no_depfile) = (0, Vec::new(), Vec::new());
    loop {
        while running.len() < schedule.jobs.max(1) && (failed.is_empty() || schedule.keep_going) {
            let Some(job) = queue.next() else { break };
            if let Some(dir) = job.unit.object.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            // The last compile's depfile must not stand for this one's
            // (seen: a depfile no longer written was read again).
            let _ = std::fs::remove_file(depfile(&job.unit.object));
            progress.compiling(&job.name);
            let runner = runner.clone();
            running.spawn(async move {
                let code = runner.run(&job.compiler, &job.args).await;
                (job, code)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (job, code) = joined.context("a compile task panicked")?;
        match code {
            Ok(0) => {
                compiled += 1;
                let source = &job.unit.source;
                let deps = read_deps(&job.unit.object, &runner.cwd, source).unwrap_or_else(|| {
                    no_depfile.push(job.name.clone());
                    vec![source.clone()]
                });
                state.record_compile(&job.unit.object, &job.recorded(), &deps, seen);
            }
            Ok(code) => failed.push((job.name, code)),
            Err(e) => {
                report::say(Kind::Error, format!("fbuild: error: {e:#}"));
                failed.push((job.name, 1));
            }
        }
    }
    if let Some(first) = no_depfile.first() {
        report::say(
            Kind::Warning,
            format!(
                "fbuild: warning: [{}] {} compile(s) wrote no dependency file ({first}…): changes to \
             the headers they include are not seen (does the recipe or build_flags drop -MMD, or \
             redirect it with -MF?)",
                runner.env,
                no_depfile.len()
            ),
        );
    }
    Ok(Ran {
        compiled,
        failed,
        not_started: queue.len(),
    })
}

/// The jobs whose objects are out of date, each with its reason (`-v`;
/// a first build says so once, not once per file).
fn out_of_date(
    runner: &Runner,
    work: Vec<Job>,
    state: &mut BuildState,
    seen: &mut Inputs,
    shadowed: &[(PathBuf, String)],
) -> Vec<Job> {
    let first = state.outputs.is_empty();
    if first {
        runner.explain("every file", &Dirty::Unknown);
    }
    work.into_iter()
        .filter(|job| {
            let shadow = shadowed.iter().find(|(o, _)| *o == job.unit.object);
            let why = match shadow {
                Some((_, name)) => Some(Dirty::Shadowed(name.clone())),
                None => state.dirty_compile(&job.unit.object, &job.recorded(), seen),
            };
            if let Some(why) = why.as_ref().filter(|_| !first) {
                runner.explain(&job.name, why);
            }
            why.is_some()
        })
        .collect()
}

/// Clears the progress bar however `compile_all` ends.
struct Finish<'a>(&'a CompileProgress);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// The compiler's depfile for `object` (`-MMD`: `<object less .o>.d`).
pub(crate) fn depfile(object: &Path) -> PathBuf {
    object.with_extension("d")
}

/// A compile that writes a depfile (`-MMD`, `-MD`) without naming it gets
/// `-MF <depfile>`: the file GCC writes anyway, named, because sccache
/// restores a depfile on a cache hit only when it is named (measured,
/// 0.16.0: a hit left no `.d`, so the object's headers went untracked).
pub fn name_depfile(args: &mut Vec<OsString>, object: &Path) {
    let writes = args.iter().any(|a| a == "-MMD" || a == "-MD");
    let named = args
        .iter()
        .any(|a| a.as_encoded_bytes().starts_with(b"-MF"));
    if writes && !named {
        args.push("-MF".into());
        args.push(depfile(object).into_os_string());
    }
}

/// The inputs of an object: its depfile's prerequisites and its source;
/// `None` when the compile wrote no depfile (its source alone is known).
fn read_deps(object: &Path, cwd: &Path, source: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read(depfile(object)).ok()?;
    let mut deps = fbuild_core::depfile::prerequisite_files(&text, cwd);
    if !deps.iter().any(|d| d == source) {
        deps.push(source.to_path_buf());
    }
    Some(deps)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
