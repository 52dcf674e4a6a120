//! `fbuild test`: PlatformIO's unit testing workflow. Suites under `test/`
//! (see `suites`) are each built per environment as their own program —
//! the suite's sources, the project's libraries, fbuild's Unity-compatible
//! runtime (`runtime`), and `src/` with `test_build_src` — through the
//! build engine and its cache, then run (`runners`): on the host, in the
//! board's emulator, or on a board. Unity's output is parsed per case
//! (`unity`); results are shown live, as a table and as JUnit XML
//! (`report`). Suites across environments build and run `-j` at a time.

mod report;
mod report_json;
mod runners;
mod runtime;
mod suites;
mod unity;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fbuild_builder::project::{EnvConfig, Project};
use fbuild_builder::{Built, build_one};

use report::SuiteResult;
use runners::{End, Target};
use suites::Suite;

/// What `fbuild test` was asked.
#[derive(Debug, Clone, Default)]
pub struct TestArgs {
    pub project_dir: PathBuf,
    pub envs: Vec<String>,
    /// `-f`: suite-name globs to run (with `test_filter`).
    pub filters: Vec<String>,
    /// `-i`: suite-name globs to skip (with `test_ignore`).
    pub ignores: Vec<String>,
    /// Read a board's serial output without flashing it first.
    pub without_uploading: bool,
    /// Run on the board at this port instead of the emulator.
    pub upload_port: Option<String>,
    /// Read the board's test output at this port (default: the
    /// environment's test_port, else the upload port).
    pub test_port: Option<String>,
    pub junit_xml: Option<PathBuf>,
    /// PlatformIO's JSON report on stdout (the rest on stderr).
    pub json_output: bool,
    /// PlatformIO's JSON report in this file.
    pub json_output_path: Option<PathBuf>,
    /// List the suites that would run, without building or running them.
    pub list_tests: bool,
    /// Run what an earlier `fbuild test` built.
    pub without_building: bool,
    /// Per suite run (not its build).
    pub timeout: Duration,
    /// Suites built and run at once (`None`: the number of cores).
    pub jobs: Option<usize>,
    pub verbose: bool,
}

/// Builds and runs every selected suite; exit 0 only if all passed.
pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let project = fbuild_builder::load(&args.project_dir)?;
    let envs = project.select(&args.envs)?;
    let test_dir = project.root.join("test");
    let all = suites::find(&test_dir);
    if all.is_empty() {
        bail!(
            "no test suites in {}: put each suite in test/<name>/ (e.g. test/test_math/test_main.c)",
            test_dir.display()
        );
    }
    let work = project
        .build_dir
        .parent()
        .unwrap_or(&project.root)
        .join("test");
    let mut queue = VecDeque::new();
    for env in &envs {
        let filters = [args.filters.clone(), env.test.filter.clone()].concat();
        let ignores = [args.ignores.clone(), env.test.ignore.clone()].concat();
        for s in all
            .iter()
            .filter(|s| suites::selected(&s.name, &filters, &ignores))
        {
            queue.push_back((*env, s));
        }
    }
    if queue.is_empty() {
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        bail!(
            "no test suite matches the filters (suites: {})",
            names.join(", ")
        );
    }
    if args.list_tests {
        return Ok(list(&queue, args.json_output));
    }
    // The host has no port: a port named for it is said unused.
    if let Some(port) = args.test_port.as_ref().or(args.upload_port.as_ref())
        && let Some(env) = envs.iter().find(|e| e.platform.is_native())
    {
        eprintln!(
            "fbuild: warning: [env:{}] runs on this computer: the port {port} is not used for it",
            env.name
        );
    }
    let unity = runtime::install(&work.join(".runtime"))?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let width = args.jobs.unwrap_or(cores).clamp(1, queue.len());
    let ctx = Ctx {
        project: &project,
        all: &all,
        unity: &unity,
        work: &work,
        args,
        build_jobs: (cores / width).max(1),
    };
    let queue = Mutex::new(queue);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..width {
            scope.spawn(|| {
                while let Some((env, suite)) = queue.lock().unwrap().pop_front() {
                    let r = ctx.run_one(env, suite);
                    results.lock().unwrap().push(r);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| (&a.env, &a.suite).cmp(&(&b.env, &b.suite)));
    tell(args, "");
    tell(args, report::table(&results, start.elapsed()).trim_end());
    if let Some(path) = &args.junit_xml {
        std::fs::write(path, report::junit(&results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json_output || args.json_output_path.is_some() {
        let json = report_json::report(&results, &project.root, start.elapsed()).to_string();
        if let Some(path) = &args.json_output_path {
            std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
        }
        if args.json_output {
            println!("{json}");
        }
    }
    Ok(if results.iter().all(SuiteResult::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A line of the report: on stdout, unless the JSON report is (then on
/// stderr, so that stdout parses).
fn tell(args: &TestArgs, line: impl AsRef<str>) {
    match args.json_output {
        true => eprintln!("{}", line.as_ref()),
        false => println!("{}", line.as_ref()),
    }
}

/// `--list-tests`: each environment's suites, as a table or as JSON.
fn list(queue: &VecDeque<(&EnvConfig, &Suite)>, json: bool) -> ExitCode {
    match json {
        true => {
            let entries: Vec<serde_json::Value> = queue
                .iter()
                .map(|(env, suite)| {
                    serde_json::json!({ "env_name": env.name, "test_name": suite.name })
                })
                .collect();
            println!("{}", serde_json::Value::from(entries));
        }
        false => {
            for (env, suite) in queue {
                println!("{}  {}", env.name, suite.name);
            }
        }
    }
    ExitCode::SUCCESS
}

struct Ctx<'a> {
    project: &'a Project,
    all: &'a [Suite],
    unity: &'a Path,
    work: &'a Path,
    args: &'a TestArgs,
    build_jobs: usize,
}

impl Ctx<'_> {
    fn run_one(&self, env: &EnvConfig, suite: &Suite) -> SuiteResult {
        let start = Instant::now();
        let mut result = SuiteResult {
            env: env.name.clone(),
            suite: suite.name.clone(),
            cases: Vec::new(),
            summary: None,
            error: None,
            duration: Duration::ZERO,
        };
        if let Err(e) = self.build_and_run(env, suite, &mut result) {
            result.error = Some(format!("{e:#}"));
        }
        result.duration = start.elapsed();
        if let Some(e) = &result.error {
            tell(
                self.args,
                format!("  [{}] {}  ERROR  {e}", env.name, suite.name),
            );
        }
        result
    }

    fn build_and_run(&self, env: &EnvConfig, suite: &Suite, out: &mut SuiteResult) -> Result<()> {
        let (project, env) = self.suite_build(env, suite);
        let (firmware, props) = match self.args.without_building {
            true => fbuild_builder::built_firmware(&project, &env)?,
            false => match build_one(&project, &env, self.build_jobs, self.args.verbose)? {
                Built::Firmware { firmware, board } => (firmware, *board),
                Built::Failed(code) => {
                    bail!("the build failed (exit {code}); its errors are above")
                }
            },
        };
        let target = if env.platform.is_native() {
            Target::Native(&firmware)
        } else {
            self.target_of(&env, &props)?
        };
        let mut parser = unity::Parser {
            root: self.project.root.to_string_lossy().into_owned(),
            ..Default::default()
        };
        let parsed = std::cell::RefCell::new(&mut parser);
        let verbose = self.args.verbose;
        let end = runners::run(
            target,
            &self.project.root,
            self.args.timeout,
            &mut |line| {
                let mut p = parsed.borrow_mut();
                match p.line(line) {
                    Some(case) => tell(self.args, report::case_line(&env.name, &suite.name, case)),
                    None if verbose => tell(self.args, line.trim_end_matches('\n')),
                    None => {}
                }
            },
            &|| !env.test.custom && parsed.borrow().finished,
        );
        out.cases = parser.cases.clone();
        out.summary = parser.summary;
        out.error = judge(&end, &parser, env.test.custom);
        Ok(())
    }

    /// The project and environment that build `suite`.
    fn suite_build(&self, env: &EnvConfig, suite: &Suite) -> (Project, EnvConfig) {
        let mut p = self.project.clone();
        p.src_dir = suite.dir.clone();
        let folder = if suite.name == "*" {
            "_test"
        } else {
            &suite.name
        };
        p.build_dir = self.work.join(folder);
        p.also_src = env
            .test
            .build_src
            .then(|| (self.project.src_dir.clone(), env.build_src_filter.clone()));
        let mut e = env.clone();
        e.build_src_filter = if suite.name == "*" {
            // test/ itself: its files, not the other suites'.
            std::iter::once("+<*>".to_string())
                .chain(
                    self.all
                        .iter()
                        .filter(|s| s.name != "*")
                        .map(|s| format!("-<{}/>", s.name)),
                )
                .collect()
        } else {
            Vec::new()
        };
        let speed = env.test.speed.unwrap_or(115_200);
        e.build_flags.extend([
            "-DPIO_UNIT_TESTING".to_string(),
            "-DUNIT_TEST".to_string(),
            format!("-DFBUILD_TEST_SPEED={speed}"),
        ]);
        if self.may_emulate(env) {
            e.build_flags.push("-DFBUILD_TEST_HALT".to_string());
        }
        e.lib_extra_dirs.push(self.unity.to_path_buf());
        (p, e)
    }

    /// The serial port named for flashing `env`'s board, if any.
    fn port(&self, env: &EnvConfig) -> Option<String> {
        self.args
            .upload_port
            .clone()
            .or(self.args.test_port.clone())
            .or(env.test.port.clone())
            .or(env.upload_port.clone())
    }

    /// Where the board's output is read: `--test-port`, `test_port`, else
    /// the port it was flashed through.
    fn read_port(&self, env: &EnvConfig, flashed: &str) -> String {
        self.args
            .test_port
            .clone()
            .or(env.test.port.clone())
            .unwrap_or_else(|| flashed.to_string())
    }

    /// A board's suites run in its emulator, if it has one, when no port
    /// is named (nor reading only asked). Such builds end at UNITY_END()
    /// (`FBUILD_TEST_HALT`: the runtime stops the CPU, which ends simavr),
    /// so the emulator's end is the firmware's (a board without emulator,
    /// found by its USB id, just stops there); on a named port a board
    /// (or simduino) runs on, as with PlatformIO.
    fn may_emulate(&self, env: &EnvConfig) -> bool {
        !env.platform.is_native() && self.port(env).is_none() && !self.args.without_uploading
    }

    /// The emulator, unless a port is named (or reading only was asked).
    fn target_of<'p>(
        &self,
        env: &'p EnvConfig,
        props: &'p fbuild_platforms::arduino::Properties,
    ) -> Result<Target<'p>> {
        let emulated = fbuild_deploy::recipe::emulator_plan(props).is_ok();
        if self.may_emulate(env) && emulated {
            return Ok(Target::Emulator(props));
        }
        let port = match self.port(env) {
            Some(p) => p,
            None => {
                let ports = fbuild_deploy::ports::list().map_err(anyhow::Error::msg)?;
                fbuild_deploy::ports::choose(&ports, None).map_err(anyhow::Error::msg)?
            }
        };
        Ok(Target::Board {
            props,
            read_port: self.read_port(env, &port),
            port,
            speed: env.test.speed.unwrap_or(115_200),
            upload: (!self.args.without_uploading).then_some(
                fbuild_deploy::recipe::UploadOptions {
                    speed: env.upload_speed,
                    protocol: env.upload_protocol.as_deref(),
                    flags: &env.upload_flags,
                },
            ),
        })
    }
}

/// The suite's failure as a whole, if any. A Unity suite passes only when
/// its summary tells what its cases did and then the program exits 0 (or
/// with its failure count, as `return UNITY_END();` does) within the
/// timeout; a custom suite when it exits 0.
fn judge(end: &End, parser: &unity::Parser, custom: bool) -> Option<String> {
    if custom {
        return match end {
            End::Exited(0) | End::Summary => None,
            End::Exited(code) => Some(format!("exited with code {code}")),
            other => before_summary(other, ""),
        };
    }
    if !parser.finished {
        let last = parser
            .cases
            .last()
            .map(|c| format!(" (after {})", c.name))
            .unwrap_or_else(|| " (before any test case finished)".into());
        return before_summary(end, &last);
    }
    let mut why = parser.disagreements();
    let failures = parser.summary.map_or(0, |s| s.failures);
    match end {
        End::Summary => {}
        End::Exited(code) if *code == 0 || u32::try_from(*code) == Ok(failures % 256) => {}
        End::Exited(code) => why.push(format!("exited with {code} after its summary")),
        End::Crashed(crash) => why.push(format!("crashed after its summary: {crash}")),
        End::TimedOut(d) => why.push(format!(
            "did not exit within {} s after its summary (killed)",
            d.as_secs_f64()
        )),
        End::Lingered(how, d) => why.push(lingered(how, *d)),
        End::Broken(broken) => why.push(broken.clone()),
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// How a run that never finished its summary ended.
fn before_summary(end: &End, last: &str) -> Option<String> {
    match end {
        End::Summary => None,
        End::Exited(code) => Some(format!(
            "exited with code {code} before Unity's summary{last}: does the suite call UNITY_END()?"
        )),
        End::Crashed(why) => Some(format!("crashed: {why}{last}")),
        End::TimedOut(d) => Some(format!("timed out after {} s{last}", d.as_secs_f64())),
        End::Lingered(how, d) => Some(format!("{}{last}", lingered(how, *d))),
        End::Broken(why) => Some(why.clone()),
    }
}

fn lingered(how: &str, timeout: std::time::Duration) -> String {
    format!(
        "it {how}, but a process it started kept its output open past {} s (all killed)",
        timeout.as_secs_f64()
    )
}
