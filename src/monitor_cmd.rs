//! `fbuild monitor` (PlatformIO's `device monitor`) and the watch after
//! `fbuild deploy --monitor`: the port and speed from the flags, else the
//! environment's `monitor_port`/`upload_port` and `monitor_speed`; what is
//! typed goes to the board (`--echo`, `--eol`, `monitor_echo`,
//! `monitor_eol`), what it sends is shown through the filters (`-f`,
//! `monitor_filters`); halt patterns and a timeout end it; an upload of the
//! same port pauses it (the coordinator's lease).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use fbuild_client::Client;
use fbuild_core::protocol::{Event, Request};
use fbuild_core::time::LEASE_REGISTER_WAIT;
use fbuild_deploy::filters::{Display, Filters};
use fbuild_deploy::keyboard::{self, Eol, InputOptions, PortWriter};
use fbuild_deploy::monitor::{self, Outcome, Rules};
use fbuild_deploy::ports;
use regex::Regex;

use fbuild_builder::project::{EnvConfig, Project};
use fbuild_builder::{self as build};

#[derive(Args, Clone, Default)]
pub struct WatchArgs {
    /// Baud rate (default: the env's monitor_speed, else 9600).
    #[arg(long, short = 'b')]
    baud: Option<u32>,
    /// Stop after this many seconds (exit 124 without a success match).
    #[arg(long, value_parser = crate::args::timeout_secs)]
    timeout: Option<Duration>,
    /// Exit 0 when a line matches this regular expression.
    #[arg(long)]
    halt_on_success: Option<String>,
    /// Exit 1 when a line matches this regular expression.
    #[arg(long)]
    halt_on_error: Option<String>,
    /// Show what is typed (default: the env's monitor_echo).
    #[arg(long)]
    echo: bool,
    /// What Enter sends: CRLF, CR or LF (default: the env's monitor_eol,
    /// else CRLF).
    #[arg(long)]
    eol: Option<String>,
    /// A filter, again for more: time, hexlify, log2file, send_on_enter,
    /// nocontrol, printable, colorize, direct, default (default: the
    /// env's monitor_filters).
    #[arg(long = "filter", short = 'f')]
    filters: Vec<String>,
    /// No filters (the env's monitor_filters are not applied).
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
pub struct MonitorArgs {
    /// Serial port (default: the env's monitor_port, else its upload_port,
    /// else the one board found).
    #[arg(long, short = 'p')]
    port: Option<String>,
    /// A project whose env gives the monitor_* options and upload_port
    /// (default: this folder, when it has a platformio.ini).
    #[arg(long, short = 'd')]
    project_dir: Option<PathBuf>,
    /// The environment whose monitor_* keys to take (default: the first of
    /// default_envs, else of the file).
    #[arg(short = 'e', long = "environment")]
    env: Option<String>,
    #[command(flatten)]
    watch: WatchArgs,
}

impl MonitorArgs {
    /// `fbuild build -t monitor`.
    pub fn of(project_dir: PathBuf, env: Option<String>, port: Option<String>) -> Self {
        MonitorArgs {
            port,
            project_dir: Some(project_dir),
            env,
            watch: WatchArgs::default(),
        }
    }
}

pub fn monitor(args: MonitorArgs) -> Result<ExitCode> {
    let dir = args
        .project_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let has_ini = dir.join("platformio.ini").is_file();
    // A folder or environment named must be there: its monitor_speed
    // would otherwise be lost without a word.
    if !has_ini && (args.project_dir.is_some() || args.env.is_some()) {
        bail!(
            "{} has no platformio.ini: -d names a project folder (and -e one of its \
             environments); without them the monitor takes --port and --baud alone",
            dir.display()
        );
    }
    let env = match has_ini {
        true => {
            let project = build::load(&dir)?;
            Some(one_env(&project, args.env.as_deref())?.clone())
        }
        false => None,
    };
    let port = port(
        args.port.as_deref().or(env
            .as_ref()
            .and_then(|e| e.monitor.port.as_deref().or(e.upload_port.as_deref()))),
    )?;
    watch_port(&port, &args.watch, env.as_ref(), &dir)
}

/// Watches `port` with the flags, over `env`'s monitor options; a
/// `log2file` log goes in `dir` (the project's).
pub(crate) fn watch_port(
    port: &str,
    w: &WatchArgs,
    env: Option<&EnvConfig>,
    dir: &Path,
) -> Result<ExitCode> {
    let monitor = env.map(|e| e.monitor.clone()).unwrap_or_default();
    let baud = w.baud.or(env.and_then(|e| e.monitor_speed)).unwrap_or(9600);
    let filters = match w.raw {
        true => Filters::default(),
        false => {
            let names = match w.filters.is_empty() {
                true => &monitor.filters,
                false => &w.filters,
            };
            let (filters, unknown) = Filters::parse(names);
            for name in unknown {
                eprintln!(
                    "fbuild: warning: monitor filter {name:?} is not fbuild's (it has {}): \
                     shown without it",
                    fbuild_deploy::filters::KNOWN.join(", ")
                );
            }
            filters
        }
    };
    let eol = match w.eol.as_deref().or(monitor.eol.as_deref()) {
        Some(text) => Eol::parse(text).map_err(anyhow::Error::msg)?,
        None => Eol::CrLf,
    };
    let input = InputOptions {
        echo: w.echo || monitor.echo,
        eol,
        send_on_enter: filters.send_on_enter,
        colorize: filters.colorize,
    };
    monitor_port(port, baud, &rules(w)?, (filters, dir), input)
}

fn monitor_port(
    port: &str,
    baud: u32,
    rules: &Rules,
    (filters, dir): (Filters, &Path),
    input: InputOptions,
) -> Result<ExitCode> {
    let paused = Arc::new(AtomicBool::new(false));
    // Registered with the coordinator before the port is opened, so an
    // upload from now on finds this monitor (bounded: no coordinator, no lease).
    let (registered, first_event) = mpsc::channel();
    watch_lease(port, Arc::clone(&paused), registered);
    let _ = first_event.recv_timeout(LEASE_REGISTER_WAIT);
    // Fail now, with the reason, if the port cannot be opened at all.
    drop(monitor::open_serial(port, baud).map_err(anyhow::Error::msg)?);
    let (mut display, log) =
        Display::new(filters, dir).context("opening the monitor's log file")?;
    let keys = match std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        true => "; Ctrl-C quits, Ctrl-T Ctrl-H lists the keys",
        false => "",
    };
    eprintln!("fbuild: monitoring {port} at {baud} baud{keys}");
    if let Some(log) = log {
        eprintln!("fbuild: logging to {}", log.display());
    }
    let writer: PortWriter = Arc::new(Mutex::new(None));
    let (tx, rx) = mpsc::channel();
    let name = port.to_string();
    let port_writer = Arc::clone(&writer);
    std::thread::spawn(move || {
        monitor::pump_pausable(
            || monitor::open_port(&name, baud).map_err(|e| e.to_string()),
            &paused,
            &tx,
            &port_writer,
        )
    });
    monitor::catch_ctrl_c();
    // The terminal's mode comes back when this guard drops, at the end.
    let _raw = keyboard::start(input, writer, monitor::interrupt);
    // Stdout locked per write, not for the watch: the keyboard's echo
    // writes there too.
    let outcome = match monitor::watch_shown(&rx, rules, &mut std::io::stdout(), &mut display) {
        Outcome::SourceFailed(why) => Outcome::SourceFailed(format!("{port}: {why}")),
        other => other,
    };
    Ok(finish(outcome))
}

/// Follows the coordinator's lease of `port` on a thread: an upload of the
/// same port pauses this monitor, which reconnects afterwards. Without a
/// coordinator the monitor simply runs unleased.
fn watch_lease(port: &str, paused: Arc<AtomicBool>, registered: mpsc::Sender<()>) {
    let port = port.to_string();
    std::thread::spawn(move || {
        let Ok(client) = Client::from_env() else {
            return;
        };
        let request = Request::WatchPort { port: port.clone() };
        let mut first = true;
        let _ = client.request(&request, &mut |event| {
            let now_paused = match event {
                Event::PortPaused => true,
                Event::PortResumed => false,
                _ => return,
            };
            if first {
                first = false;
                let _ = registered.send(());
            } else if now_paused {
                eprintln!("fbuild: an upload to {port} is starting; monitor paused");
            } else {
                eprintln!("fbuild: upload done; reconnecting to {port}");
            }
            paused.store(now_paused, Ordering::SeqCst);
        });
    });
}

/// Watches an emulator's output (no filters, nothing typed).
pub(crate) fn watch(rx: &mpsc::Receiver<monitor::Chunk>, rules: &Rules) -> Outcome {
    monitor::catch_ctrl_c();
    monitor::watch(rx, rules, &mut std::io::stdout().lock())
}

/// Like [`finish`], for a run that can end by itself (an emulator): ending
/// without the success line that was asked for is a failure.
pub(crate) fn finish_run(outcome: Outcome, rules: &Rules) -> ExitCode {
    match (&outcome, &rules.success) {
        (Outcome::Ended, Some(re)) => {
            eprintln!("fbuild: error: the program ended without a line matching {re}");
            ExitCode::FAILURE
        }
        _ => finish(outcome),
    }
}

fn finish(outcome: Outcome) -> ExitCode {
    match &outcome {
        Outcome::Timeout => eprintln!("fbuild: timed out without a success match"),
        Outcome::ErrorMatch(line) => eprintln!("fbuild: error pattern matched: {line}"),
        Outcome::SourceFailed(why) => eprintln!("fbuild: error: {why}"),
        _ => {}
    }
    ExitCode::from(outcome.exit_code() as u8)
}

pub(crate) fn rules(w: &WatchArgs) -> Result<Rules> {
    let re = |p: &Option<String>, flag: &str| -> Result<Option<Regex>> {
        p.as_deref()
            .map(|p| {
                Regex::new(p)
                    .with_context(|| format!("{flag} {p:?} is not a valid regular expression"))
            })
            .transpose()
    };
    Ok(Rules {
        success: re(&w.halt_on_success, "--halt-on-success")?,
        error: re(&w.halt_on_error, "--halt-on-error")?,
        timeout: w.timeout,
    })
}

pub(crate) fn port(explicit: Option<&str>) -> Result<String> {
    let list = if explicit.is_some() {
        Vec::new()
    } else {
        ports::list().unwrap_or_default()
    };
    ports::choose(&list, explicit).map_err(anyhow::Error::msg)
}

/// The environment named (one), else the first of `default_envs` (else of
/// the file).
pub(crate) fn one_env<'p>(project: &'p Project, name: Option<&str>) -> Result<&'p EnvConfig> {
    let selected: Vec<String> = name.map(|n| vec![n.to_string()]).unwrap_or_default();
    let envs = project.select(&selected)?;
    if name.is_some() && envs.len() > 1 {
        let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
        bail!(
            "-e {} names {} environments: this flashes or watches one; name it alone",
            names.join(","),
            names.len()
        );
    }
    Ok(envs[0])
}
