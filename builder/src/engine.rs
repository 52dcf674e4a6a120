//! Running the compiles: every out-of-date unit under a `-j` semaphore,
//! through zccache when the coordinator has one — straight to its daemon
//! over its wire (`fbuild_core::zwire`, no zccache process per compile),
//! else through zccache's client. The cache route arrives from the
//! coordinator while the build already runs ([`CacheRoute`]); compiles
//! that start before it run uncached. Up-to-date units (same command,
//! unchanged inputs) run nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use fbuild_core::zccache_env;
use fbuild_core::zwire::{self, Budget, CompileCall, WireError};

use super::sources::Unit;
use super::state::{BuildState, Dirty, Inputs};
use crate::progress::CompileProgress;

/// How compiles reach the cache, as the coordinator decided.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// zccache's client (`zccache <compiler> args…`).
    pub zccache: Option<PathBuf>,
    /// The daemon's socket, when it speaks fbuild's wire.
    pub endpoint: Option<PathBuf>,
    /// Environment of the client path.
    pub env: Vec<(OsString, OsString)>,
    /// sccache (`FBUILD_CACHE=sccache`): its storage error count when the
    /// build started, to tell a storage that failed during it.
    pub shared_errors: Option<(u64, String)>,
}

/// The route, once known (`None` until the coordinator answered), and
/// whether the coordinator put zccache off (its cache is empty: this build
/// runs uncached and starts it for the next one when done).
#[derive(Debug, Clone, Default)]
pub struct CacheRoute {
    route: Arc<std::sync::RwLock<Option<Route>>>,
    deferred: Arc<AtomicBool>,
}

impl CacheRoute {
    pub fn set(&self, route: Route) {
        *self.route.write().unwrap_or_else(|p| p.into_inner()) = Some(route);
    }

    pub fn get(&self) -> Option<Route> {
        self.route.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn defer(&self) {
        self.deferred.store(true, Ordering::SeqCst);
    }

    pub fn deferred(&self) -> bool {
        self.deferred.load(Ordering::SeqCst)
    }
}

/// How to run a compiler: directly, or through the cache.
#[derive(Debug, Clone)]
pub struct Runner {
    pub route: CacheRoute,
    pub cwd: PathBuf,
    pub verbose: bool,
    /// Set once zccache failed in this build (said once, then every
    /// compile of the build runs without it).
    pub cache_failed: Arc<AtomicBool>,
    /// The environment, for messages (`fbuild: [uno] …`).
    pub env: String,
}

/// A compile to run: the compiler and its arguments.
#[derive(Debug, Clone)]
pub struct Job {
    /// What progress shows: the object's path under the build dir.
    pub name: String,
    pub unit: Unit,
    pub compiler: PathBuf,
    pub args: Vec<OsString>,
}

impl Job {
    pub fn command(&self) -> Vec<OsString> {
        let mut v = vec![self.compiler.clone().into_os_string()];
        v.extend(self.args.iter().cloned());
        v
    }
}

/// A command as `-v` shows it.
pub fn shown(program: &Path, args: &[OsString]) -> String {
    let mut line = program.display().to_string();
    for a in args {
        line.push(' ');
        line.push_str(&a.to_string_lossy());
    }
    line
}

pub enum Outcome {
    /// Compiled this many, this many were up to date.
    Done { compiled: usize, up_to_date: usize },
    /// A compiler failed with this exit code (its output was printed).
    Failed(i32),
}

impl Runner {
    /// With `-v`: why `what` (a compile, the link, …) runs, in one line.
    pub fn explain(&self, what: &str, why: &Dirty) {
        if self.verbose {
            eprintln!(
                "fbuild: [{}] {what} is out of date: {}",
                self.env,
                why.explain(&self.cwd)
            );
        }
    }

    /// After failed compiles (name, exit code): which, and what did not
    /// run because of them.
    fn report_failures(&self, failed: &[(String, i32)], total: usize, not_started: usize) {
        let env = &self.env;
        let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
        if not_started > 0 {
            eprintln!(
                "fbuild: [{env}] {} failed to compile; {not_started} of {total} compiles not \
                 started (-k/--keep-going compiles the rest and reports every error)",
                names.join(", ")
            );
        } else {
            eprintln!(
                "fbuild: [{env}] {} of {total} compiles failed: {}",
                failed.len(),
                names.join(", ")
            );
        }
    }

    /// Runs a compile (with zccache in front when set); prints its output.
    /// Returns the exit code. A compile whose cache machinery fails
    /// (`zccache_env::machinery_failure`) runs again without the cache;
    /// the build says so once and compiles the rest without it.
    pub async fn run(&self, program: &Path, args: &[OsString]) -> Result<i32> {
        let route = self
            .route
            .get()
            .filter(|_| !self.cache_failed.load(Ordering::SeqCst));
        let Some(route) = route else {
            return self.spawn(None, &[], program, args).await;
        };
        // zccache takes text (its client panics on other arguments, as
        // the shims found): a compile with a non-UTF-8 argument (a path)
        // runs without it.
        let text: Option<Vec<String>> = args
            .iter()
            .map(|a| a.to_str().map(str::to_string))
            .collect();
        let Some(text) = text else {
            return self.spawn(None, &[], program, args).await;
        };
        if let Some(endpoint) = route.endpoint.clone().filter(|_| zwire::enabled()) {
            match self.direct(endpoint, program, text).await {
                Ok(code) => return Ok(code),
                // Another zccache's wire: its own client below.
                Err(WireError::Mismatch(_)) => {}
                Err(other) => return self.uncached(&other.to_string(), program, args).await,
            }
        }
        let Some(zccache) = route.zccache.as_deref() else {
            return self.spawn(None, &[], program, args).await;
        };
        let mut out = self
            .output(Some(zccache), &route.env, program, args)
            .await?;
        if route.shared_errors.is_some() {
            out.stderr = crate::shared_cache::without_server_gone(out.stderr);
        }
        let code = out.status.code().unwrap_or(1);
        if let Some(why) = zccache_env::machinery_failure(code, &out.stderr) {
            return self.uncached(&why, program, args).await;
        }
        Ok(print_output(out))
    }

    /// The compile through the daemon's wire; its output printed.
    async fn direct(
        &self,
        endpoint: PathBuf,
        program: &Path,
        args: Vec<String>,
    ) -> std::result::Result<i32, WireError> {
        if self.verbose {
            eprintln!("{} {}", program.display(), args.join(" "));
        }
        let (program, cwd) = (program.to_path_buf(), self.cwd.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            let call = CompileCall {
                compiler: &program,
                args,
                cwd: &cwd,
                env: zccache_env::readable_env(),
                stdin: Vec::new(),
            };
            zwire::compile(&endpoint, call, Budget::from_env())
        })
        .await
        .map_err(|e| WireError::Failed(e.to_string()))??;
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&outcome.stdout);
        let _ = err.write_all(&outcome.stderr);
        Ok(outcome.code())
    }

    /// The cache machinery failed: said once, the rest of the build runs
    /// without it, this compile again with the real tool.
    async fn uncached(&self, why: &str, program: &Path, args: &[OsString]) -> Result<i32> {
        if !self.cache_failed.swap(true, Ordering::SeqCst) {
            eprintln!(
                "fbuild: warning: zccache failed ({why}); compiling the rest of this build \
                 without the cache"
            );
        }
        self.spawn(None, &[], program, args).await
    }

    /// Runs an archive, link or objcopy step without zccache: its link
    /// caching gains nothing on a firmware link and cannot hold LTO's
    /// linker plugin state.
    pub async fn run_direct(&self, program: &Path, args: &[OsString]) -> Result<i32> {
        self.spawn(None, &[], program, args).await
    }

    async fn spawn(
        &self,
        zccache: Option<&Path>,
        env: &[(OsString, OsString)],
        program: &Path,
        args: &[OsString],
    ) -> Result<i32> {
        Ok(print_output(
            self.output(zccache, env, program, args).await?,
        ))
    }

    async fn output(
        &self,
        zccache: Option<&Path>,
        env: &[(OsString, OsString)],
        program: &Path,
        args: &[OsString],
    ) -> Result<std::process::Output> {
        let mut cmd = match zccache {
            Some(z) => {
                let mut c = tokio::process::Command::new(z);
                c.arg(program);
                c
            }
            None => tokio::process::Command::new(program),
        };
        cmd.args(args)
            .current_dir(&self.cwd)
            .envs(env.iter().map(|(k, v)| (k, v)));
        // A build that stops (an error, Ctrl-C) stops its compilers too.
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        if self.verbose {
            eprintln!("{}", shown(program, args));
        }
        cmd.output()
            .await
            .with_context(|| format!("running {}", program.display()))
    }
}

/// Prints a step's output (stdout too: the build's own output is stderr);
/// returns its exit code.
fn print_output(out: std::process::Output) -> i32 {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(&out.stdout);
    let _ = err.write_all(&out.stderr);
    out.status.code().unwrap_or(1)
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
                state.record_compile(&job.unit.object, &job.command(), &deps, seen);
            }
            Ok(code) => failed.push((job.name, code)),
            Err(e) => {
                eprintln!("fbuild: error: {e:#}");
                failed.push((job.name, 1));
            }
        }
    }
    if let Some(first) = no_depfile.first() {
        eprintln!(
            "fbuild: warning: [{}] {} compile(s) wrote no dependency file ({first}…): changes to \
             the headers they include are not seen (does the recipe or build_flags drop -MMD, or \
             redirect it with -MF?)",
            runner.env,
            no_depfile.len()
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
                None => state.dirty_compile(&job.unit.object, &job.command(), seen),
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
fn depfile(object: &Path) -> PathBuf {
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
