//! How a build runs its tools: a compile straight to zccache's daemon
//! over its wire (`fbuild_core::zwire`, no zccache process per compile),
//! else through zccache's client, else the compiler alone; links and
//! archives written in one call the same way (as links: zccache's
//! `LinkEphemeral`), objcopies alone. The cache route arrives from the coordinator while
//! the build already runs ([`CacheRoute`]). A compile whose cache machinery
//! fails runs again without it, and the coordinator is told after the
//! build. Commands are made by `fbuild_core::tool` (its cache-tool rules).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use fbuild_core::tool::cache_route::{Came, Ladder, Next, Via};
use fbuild_core::tool::{Tool, cache_env, response};
use fbuild_core::zwire::{self, Budget, CompileCall, Kind as ZKind, WireError};

use crate::report::{self, Kind};
use crate::state::Dirty;

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
    /// Links and archives may go through it (zccache's; not sccache).
    pub links: bool,
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
    /// What to tell the coordinator after the build, as the shims do at
    /// once: zccache failed, or its daemon speaks another wire (then it
    /// checks the daemon again).
    pub to_report: Arc<std::sync::Mutex<Option<String>>>,
    /// The environment, for messages (`fbuild: [uno] …`).
    pub env: String,
    /// What the cache served this build, as its daemon answered.
    pub counts: Arc<std::sync::Mutex<CacheCounts>>,
    /// The tools read `@file` response files.
    pub response_files: bool,
    /// Added to each compile (fbuild's stderr is a terminal and the
    /// compiler takes it), unless its line chose colours itself: the cache
    /// runs compilers with a pipe, and a hit replays what the miss wrote.
    pub colour: Option<String>,
    /// fbuild's store of links and archives (`FBUILD_HOME/builds/links`).
    pub link_store: Option<PathBuf>,
}

/// Hits and misses of one build by kind, from the daemon's answers over
/// the wire (a step through zccache's client is not counted: its answer
/// is its exit code alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub compile_hits: u32,
    pub compile_misses: u32,
    pub link_hits: u32,
    pub link_misses: u32,
    /// Steps run without the cache (its route not known yet, or failed).
    pub uncached: u32,
    /// The links were fbuild's link store's (not zccache's).
    pub links_stored: bool,
}

impl CacheCounts {
    pub(crate) fn add(&mut self, kind: ZKind, cached: bool) {
        let slot = match (kind, cached) {
            (ZKind::Compile, true) => &mut self.compile_hits,
            (ZKind::Compile, false) => &mut self.compile_misses,
            (ZKind::Link, true) => &mut self.link_hits,
            (ZKind::Link, false) => &mut self.link_misses,
        };
        *slot += 1;
    }

    /// `cache: 26 hits, 0 misses; links: 2 hits, 0 misses` (the links
    /// counting archives too), or `None` when nothing was asked of it.
    pub fn line(&self) -> Option<String> {
        let compiles = self.compile_hits + self.compile_misses;
        let links = self.link_hits + self.link_misses;
        if compiles + links == 0 {
            return None;
        }
        let without = match self.uncached {
            0 => String::new(),
            n => format!("; {n} without the cache"),
        };
        let store = if self.links_stored {
            " (fbuild's link store)"
        } else {
            ""
        };
        Some(format!(
            "cache: {} hits, {} misses; links: {} hits, {} misses{store}{without}",
            self.compile_hits, self.compile_misses, self.link_hits, self.link_misses
        ))
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

impl Runner {
    /// With `-v`: why `what` (a compile, the link, …) runs, in one line.
    pub fn explain(&self, what: &str, why: &Dirty) {
        if self.verbose {
            report::say(
                Kind::Verbose,
                format!(
                    "fbuild: [{}] {what} is out of date: {}",
                    self.env,
                    why.explain(&self.cwd)
                ),
            );
        }
    }

    /// After failed compiles (name, exit code): which, and what did not
    /// run because of them.
    pub(crate) fn report_failures(
        &self,
        failed: &[(String, i32)],
        total: usize,
        not_started: usize,
    ) {
        let env = &self.env;
        let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
        if not_started > 0 {
            report::say(
                Kind::Note,
                format!(
                    "fbuild: [{env}] {} failed to compile; {not_started} of {total} compiles not \
                 started (-k/--keep-going compiles the rest and reports every error)",
                    names.join(", ")
                ),
            );
        } else {
            report::say(
                Kind::Note,
                format!(
                    "fbuild: [{env}] {} of {total} compiles failed: {}",
                    failed.len(),
                    names.join(", ")
                ),
            );
        }
    }

    /// Runs a compile (with zccache in front when set); prints its output.
    /// Returns the exit code. A compile whose cache machinery fails
    /// (`cache_env::machinery_failure`) runs again without the cache;
    /// the build says so once and compiles the rest without it.
    pub async fn run(&self, program: &Path, args: &[OsString]) -> Result<i32> {
        self.run_as(program, args, ZKind::Compile).await
    }

    /// [`Runner::run`] for a compile, or a link or archive (`kind`: what
    /// the daemon is asked for; zccache's client tells them apart itself).
    pub async fn run_as(&self, program: &Path, args: &[OsString], kind: ZKind) -> Result<i32> {
        let args = &self.fitted(program, &self.compile_flags_added(args, kind))?;
        let route = self
            .route
            .get()
            .filter(|_| !self.cache_failed.load(Ordering::SeqCst))
            .filter(|r| {
                kind == ZKind::Compile || (r.links && fbuild_core::settings::cache_links())
            });
        let Some(route) = route else {
            self.counts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .uncached += 1;
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
        let endpoint = route.endpoint.clone().filter(|_| zwire::enabled());
        let ladder = Ladder {
            wire: endpoint.is_some(),
            client: route.zccache.is_some(),
        };
        let mut via = ladder.first();
        let mut text = Some(text);
        loop {
            let came = match (via, &endpoint, route.zccache.as_deref()) {
                (Via::Wire, Some(endpoint), _) => {
                    let text = text.take().unwrap_or_default();
                    match self.direct(endpoint.clone(), program, text, kind).await {
                        Ok(code) => Came::Exited(code),
                        Err(WireError::Mismatch(why)) => Came::OtherWire(why),
                        Err(other) => Came::Failed(other.to_string()),
                    }
                }
                (Via::Client, _, Some(zccache)) => {
                    self.client(zccache, &route, program, args).await?
                }
                _ => return self.spawn(None, &[], program, args).await,
            };
            match ladder.after(via, came) {
                Next::Done(code) => return Ok(code),
                // Another zccache's wire: the coordinator is told after
                // the build (it checks the daemon again).
                Next::Then { via: next, report } => {
                    self.report(&report);
                    via = next;
                }
                Next::Fallback { why } => return self.uncached(&why, program, args).await,
            }
        }
    }

    /// The compile through zccache's client: its output printed unless the
    /// machinery failed (then the compile runs again without the cache,
    /// and only that run's output is seen).
    async fn client(
        &self,
        zccache: &Path,
        route: &Route,
        program: &Path,
        args: &[OsString],
    ) -> Result<Came> {
        // zccache that cannot be started is the machinery failing: the
        // compile runs without it (a build never breaks because of us).
        let mut out = match self.output(Some(zccache), &route.env, program, args).await {
            Ok(out) => out,
            Err(e) => return Ok(Came::Failed(format!("{e:#}"))),
        };
        if route.shared_errors.is_some() {
            out.stderr = crate::shared_cache::without_server_gone(out.stderr);
        }
        let code = out.status.code().unwrap_or(1);
        if let Some(why) = cache_env::machinery_failure(code, &out.stderr) {
            return Ok(Came::Failed(why));
        }
        Ok(Came::Exited(print_output(out)))
    }

    /// The compile through the daemon's wire; its output printed.
    async fn direct(
        &self,
        endpoint: PathBuf,
        program: &Path,
        args: Vec<String>,
        kind: ZKind,
    ) -> std::result::Result<i32, WireError> {
        if self.verbose {
            report::say(
                Kind::Verbose,
                format!("{} {}", program.display(), args.join(" ")),
            );
        }
        let (program, cwd) = (program.to_path_buf(), self.cwd.clone());
        let env = cache_env::readable_env();
        let outcome = tokio::task::spawn_blocking(move || {
            let call = CompileCall {
                compiler: &program,
                args,
                cwd: &cwd,
                env,
                stdin: Vec::new(),
            };
            zwire::compile(&endpoint, call, kind, Budget::from_env())
        })
        .await
        .map_err(|e| WireError::Failed(e.to_string()))??;
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(kind, outcome.cached);
        crate::report::tool_output(&outcome.stdout);
        crate::report::tool_output(&outcome.stderr);
        Ok(outcome.code())
    }

    /// The cache machinery failed: said once, the rest of the build runs
    /// without it, this compile again with the real tool.
    async fn uncached(&self, why: &str, program: &Path, args: &[OsString]) -> Result<i32> {
        if !self.cache_failed.swap(true, Ordering::SeqCst) {
            self.report(why);
            report::say(
                Kind::Warning,
                format!(
                    "fbuild: warning: zccache failed ({why}); compiling the rest of this build \
                 without the cache"
                ),
            );
        }
        self.spawn(None, &[], program, args).await
    }

    /// Keeps `why` for the coordinator (the first reason of the build).
    fn report(&self, why: &str) {
        let mut slot = self.to_report.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| why.to_string());
    }

    /// What to tell the coordinator about zccache after the build.
    pub fn cache_report(&self) -> Option<String> {
        self.to_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A compile's arguments with [`Runner::colour`] when it applies, and
    /// a `-flto` compile's seed (`fbuild_core::lto_seed`: the same object
    /// bytes every time, so the link taking it can come from the cache).
    fn compile_flags_added(&self, args: &[OsString], kind: ZKind) -> Vec<OsString> {
        let mut args = args.to_vec();
        if kind != ZKind::Compile {
            return args;
        }
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if let Some(flag) = &self.colour
            && fbuild_core::console::colour_left_to_us(&text)
        {
            args.push(flag.into());
        }
        args.extend(fbuild_core::lto_seed::seed_flag(&text, &self.cwd).map(OsString::from));
        args
    }

    /// `args`, or one `@file` holding them when the command line would be
    /// longer than the OS takes (a link of hundreds of objects on
    /// Windows); an error naming the tool when it reads no `@file`.
    fn fitted(&self, program: &Path, args: &[OsString]) -> Result<Vec<OsString>> {
        if response::fits(program, args) {
            return Ok(args.to_vec());
        }
        if !self.response_files {
            anyhow::bail!(
                "[{}] the command line of {} is longer than this OS takes ({} characters at \
                 most), and this toolchain reads no @file response file \
                 (fbuild.response_files=false): use a toolchain that does (GCC, Clang), or a \
                 shorter project folder",
                self.env,
                program.display(),
                response::MAX_LINE
            );
        }
        let dir = response::dir();
        let file = response::write(args, &dir)
            .with_context(|| format!("writing a response file in {}", dir.display()))?;
        Ok(vec![file])
    }

    /// Runs a step without the cache (an objcopy, an archive made object
    /// by object).
    /// The step alone (no cache), its output held.
    pub(crate) async fn output_of(
        &self,
        program: &Path,
        args: &[OsString],
    ) -> Result<std::process::Output> {
        let args = self.fitted(program, args)?;
        self.output(None, &[], program, &args).await
    }

    /// zccache failed in this build: the rest runs without any cache.
    pub(crate) fn cache_failed(&self) -> bool {
        self.cache_failed.load(Ordering::SeqCst)
    }

    pub async fn run_direct(&self, program: &Path, args: &[OsString]) -> Result<i32> {
        let args = self.fitted(program, args)?;
        self.spawn(None, &[], program, &args).await
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
        let tool = match zccache {
            Some(z) => cache_env::compile(Tool::new(z).arg(program).args(args)),
            None => Tool::new(program).args(args),
        };
        let tool = tool
            .current_dir(&self.cwd)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut cmd = tokio::process::Command::from(tool.command());
        // A build that stops (an error, Ctrl-C) stops its compilers too.
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        if self.verbose {
            report::say(Kind::Verbose, shown(program, args));
        }
        cmd.output()
            .await
            .with_context(|| format!("running {}", program.display()))
    }
}

/// Passes a step's output on (stdout too: the build's own output is one
/// stream); returns its exit code.
fn print_output(out: std::process::Output) -> i32 {
    crate::report::tool_output(&out.stdout);
    crate::report::tool_output(&out.stderr);
    out.status.code().unwrap_or(1)
}
