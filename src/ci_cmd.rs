//! `fbuild ci`: sketches or example folders built without a project, as
//! PlatformIO's `pio ci` does, each example × board a build: `fbuild ci
//! examples/*/ --lib . --board uno --board nano`. Builds run in kept
//! projects under `--build-dir` (default `.fbuild/ci/`, one run at a time:
//! an OS lock), one per board and build slot, whose sources are a link to
//! the example and whose `lib/` links to each `--lib` (as `pio ci` copies
//! them; no path is written into `platformio.ini`, whose syntax would read
//! `;`, `${…}` or `, ` in one): the next example for the same board finds
//! the core's and the libraries' objects up to date and compiles its
//! sketch alone. A table at the end (example, board, result, files
//! compiled, flash, RAM, seconds), JUnit XML with `--junit`, exit 1 if any
//! build failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use fbuild_core::tool::Tool;

#[path = "ci_report.rs"]
mod report;
use report::{Outcome, Row};

#[derive(Args)]
pub struct CiArgs {
    /// Example folders (a sketch folder, or sources) or single source
    /// files; each is built for every board.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// A library folder every example uses (`lib_deps = symlink://…`);
    /// repeatable.
    #[arg(short = 'l', long = "lib")]
    libs: Vec<PathBuf>,
    /// A board id (`uno`, an FQBN, or `native`); repeatable.
    #[arg(short = 'b', long = "board", required = true)]
    boards: Vec<String>,
    /// A `key=value` line for each build's environment (`build_flags=-DX`,
    /// `platform=<index URL>`); repeatable.
    #[arg(short = 'O', long = "project-option")]
    options: Vec<String>,
    /// Builds at a time (each uses every core for its compiles).
    #[arg(short = 'j', long, default_value_t = 1)]
    jobs: usize,
    /// After a failed build, build the rest (the table reports every one).
    #[arg(short = 'k', long)]
    keep_going: bool,
    /// Write the results as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Where the builds' projects are kept (default `.fbuild/ci`).
    #[arg(long)]
    build_dir: Option<PathBuf>,
    /// Show each build's output.
    #[arg(short, long)]
    verbose: bool,
}

/// One build to make.
#[derive(Clone)]
struct Task {
    example: PathBuf,
    board: String,
}

pub fn run(args: CiArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    let work = cwd.join(
        args.build_dir
            .clone()
            .unwrap_or_else(|| ".fbuild/ci".into()),
    );
    let examples = examples(&cwd, &args.sources)?;
    let libs = args
        .libs
        .iter()
        .map(|l| {
            std::fs::canonicalize(cwd.join(l)).with_context(|| format!("--lib {}", l.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    for option in &args.options {
        if !option.contains('=') {
            bail!("--project-option {option:?}: write it as key=value (build_flags=-DX)");
        }
    }
    let tasks: Vec<Task> = args
        .boards
        .iter()
        .flat_map(|b| {
            examples.iter().map(move |e| Task {
                example: e.clone(),
                board: b.clone(),
            })
        })
        .collect();
    for board in &args.boards {
        check_board(&args, board)?;
    }
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let _lock = lock(&work)?;
    let start = Instant::now();
    let rows = build_all(&args, &work, &libs, tasks)?;
    report::table(&rows, &cwd, start.elapsed().as_secs_f64());
    if let Some(file) = &args.junit {
        report::junit(file, &rows, &cwd)?;
    }
    let failed = rows.iter().any(|r| r.outcome != Outcome::Success);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One `fbuild ci` at a time in `work` (two would write each other's
/// projects): an OS lock, waited for with a note.
fn lock(work: &Path) -> Result<fslock::LockFile> {
    let path = work.join(".lock");
    let mut lock =
        fslock::LockFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
    if !lock.try_lock()? {
        eprintln!(
            "fbuild ci: another fbuild ci is using {}; waiting for it",
            work.display()
        );
        lock.lock()?;
    }
    Ok(lock)
}

/// A board whose platform fbuild cannot name needs `-O platform=…`.
fn check_board(args: &CiArgs, board: &str) -> Result<()> {
    let native = fbuild_core::platform::Platform::parse(board).is_native();
    let given = args
        .options
        .iter()
        .any(|o| o.split('=').next().map(str::trim) == Some("platform"));
    if native || given || platform_of(board).is_some() {
        return Ok(());
    }
    bail!(
        "-b {board}: fbuild does not know this board's platform by name; give it with \
         -O platform=<platform name or package index URL>"
    )
}

/// The examples, canonical: folders and source files that exist.
fn examples(cwd: &Path, sources: &[PathBuf]) -> Result<Vec<PathBuf>> {
    sources
        .iter()
        .map(|s| {
            let path = std::fs::canonicalize(cwd.join(s))
                .with_context(|| format!("{}: no such example folder or file", s.display()))?;
            if path.is_file() && path.parent().is_none() {
                bail!("{}: not a source file in a folder", s.display());
            }
            Ok(path)
        })
        .collect()
}

/// Runs `tasks`, `jobs` at a time; each worker keeps one project per
/// board. Stops starting builds after a failure unless `keep_going`.
fn build_all(args: &CiArgs, work: &Path, libs: &[PathBuf], tasks: Vec<Task>) -> Result<Vec<Row>> {
    // No more workers than builds (each compiles with every core anyway).
    let workers = args.jobs.clamp(1, tasks.len().clamp(1, 16));
    let queue = Arc::new(Mutex::new(
        tasks.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    queue.lock().unwrap_or_else(|p| p.into_inner()).reverse();
    let rows = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|s| {
        for worker in 0..workers {
            let (queue, rows, stop) = (queue.clone(), rows.clone(), stop.clone());
            s.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some((i, task)) = next else { break };
                    let row = if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        Row::skipped(&task)
                    } else {
                        build_one(args, work, worker, libs, &task)
                    };
                    if row.outcome == Outcome::Failed && !args.keep_going {
                        stop.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    rows.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, row));
                }
            });
        }
    });
    let mut rows = Arc::try_unwrap(rows)
        .map_err(|_| anyhow::anyhow!("a build worker is still running"))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    rows.sort_by_key(|(i, _)| *i);
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// One example × board in this worker's project for the board.
fn build_one(args: &CiArgs, work: &Path, worker: usize, libs: &[PathBuf], task: &Task) -> Row {
    let start = Instant::now();
    let slot = work.join(format!("{}-{worker}", folder_of(&task.board)));
    let prepared = crate::ci_slot::prepare(&slot, libs, &task.example, |src_dir| {
        ini(args, task, src_dir)
    });
    if let Err(e) = prepared {
        return Row::failed(task, format!("preparing {}: {e}", slot.display()), start);
    }
    let mut cmd = Tool::new(std::env::current_exe().unwrap_or_else(|_| "fbuild".into()))
        .arg("build")
        .arg(&slot)
        .command();
    let out = match cmd.stdin(std::process::Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => return Row::failed(task, format!("running fbuild build: {e}"), start),
    };
    // Its results (stdout: the counts, the size report), then its
    // progress and diagnostics.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if args.verbose || !out.status.success() {
        eprintln!(
            "fbuild ci: {} for {}:\n{said}",
            task.example.display(),
            task.board
        );
    }
    Row::of(task, out.status.success(), &said, start)
}

/// The environment of one build: the board's, the example as `src_dir`
/// (a folder of the project: see `ci_slot`), the options.
fn ini(args: &CiArgs, task: &Task, src_dir: &str) -> String {
    let mut ini = format!("[platformio]\nsrc_dir = {src_dir}\n\n");
    ini.push_str(&format!("[env:{}]\n", folder_of(&task.board)));
    let given = |key: &str| {
        args.options
            .iter()
            .any(|o| o.split('=').next().map(str::trim) == Some(key))
    };
    // `-b native`: the host (a platform, not a board).
    if fbuild_core::platform::Platform::parse(&task.board).is_native() {
        if !given("platform") {
            ini.push_str(&format!("platform = {}\n", task.board));
        }
    } else {
        if !given("platform")
            && let Some(platform) = platform_of(&task.board)
        {
            ini.push_str(&format!("platform = {platform}\n"));
        }
        if !given("framework") {
            ini.push_str("framework = arduino\n");
        }
        ini.push_str(&format!("board = {}\n", task.board));
    }
    // Warnings as arduino-cli shows them by default: none.
    if !given("build_warnings") {
        ini.push_str("build_warnings = none\n");
    }
    for option in &args.options {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        ini.push_str(&format!("{} = {}\n", key.trim(), value.trim()));
    }
    ini
}

/// The PlatformIO platform of a board id that fbuild knows by name
/// (`uno` → `atmelavr`); `None`: the user names it (`-O platform=…`).
fn platform_of(board: &str) -> Option<String> {
    let id = fbuild_platforms::arduino::BoardId::parse(board).ok()?;
    let name = fbuild_platforms::arduino::pio_platform_of_arch(&id.fqbn().arch)?;
    fbuild_platforms::platform(name).map(|_| name.to_string())
}

/// A board id as a folder and environment name: itself when plain, else
/// its plain characters and a hash of it (`a:b` and `a_b` stay apart).
fn folder_of(board: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if board.chars().all(plain) {
        return board.to_string();
    }
    let mut h = fbuild_core::hash::Fnv1a::new();
    h.write(board.as_bytes());
    let safe: String = board
        .chars()
        .map(|c| if plain(c) { c } else { '_' })
        .collect();
    format!("{safe}-{:08x}", h.finish() as u32)
}
