//! `fbuild deploy`, `fbuild monitor` and `fbuild device list`: flash the
//! firmware with the core's upload recipe (or run it in the emulator),
//! watch the serial line, list the ports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use fbuild_client::Client;
use fbuild_core::protocol::{Event, Request};
use fbuild_core::time::{BOARD_RETURN_WAIT, LEASE_REGISTER_WAIT};
use fbuild_deploy::monitor::{self, Outcome, Rules};
use fbuild_deploy::recipe::{UploadOptions, emulator_plan, upload_inputs, upload_plan, usb_ids};
use fbuild_deploy::{emulator, ports, upload};
use fbuild_platforms::arduino::Properties;
use regex::Regex;

use fbuild_builder::project::{EnvConfig, Project};
use fbuild_builder::{self as build, BuildRequest};

#[derive(Args, Clone, Default)]
pub struct WatchArgs {
    /// Baud rate (default: the env's monitor_speed, else 9600).
    #[arg(long)]
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
}

#[derive(Args)]
pub struct DeployArgs {
    /// The project folder (with platformio.ini).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// The environment to deploy (default: the first of default_envs).
    #[arg(short = 'e', long = "environment")]
    env: Option<String>,
    /// Serial port of the board (default: upload_port, else the one board
    /// found); `-p`/`--upload-port` as PlatformIO spells it.
    #[arg(
        long,
        short = 'p',
        visible_alias = "upload-port",
        conflicts_with = "emulator"
    )]
    port: Option<String>,
    /// Run the firmware in simavr instead of flashing a board.
    #[arg(long)]
    emulator: bool,
    /// Do not build first.
    #[arg(long)]
    skip_build: bool,
    /// Watch the serial line after the upload.
    #[arg(long)]
    monitor: bool,
    #[command(flatten)]
    watch: WatchArgs,
}

impl DeployArgs {
    /// `fbuild build -t upload` (PlatformIO's `pio run -t upload`): build,
    /// flash, and watch with `-t monitor`.
    pub fn upload(
        project_dir: PathBuf,
        env: Option<String>,
        port: Option<String>,
        monitor: bool,
    ) -> Self {
        DeployArgs {
            project_dir,
            env,
            port,
            emulator: false,
            skip_build: false,
            monitor,
            watch: WatchArgs::default(),
        }
    }
}

#[derive(Args)]
pub struct MonitorArgs {
    /// Serial port (default: the env's upload_port, else the one board found).
    #[arg(long)]
    port: Option<String>,
    /// A project whose env gives monitor_speed and upload_port.
    #[arg(long, default_value = ".")]
    project_dir: PathBuf,
    #[arg(short = 'e', long = "environment")]
    env: Option<String>,
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(Subcommand)]
pub enum DeviceAction {
    /// Serial ports with USB VID:PID and description.
    List,
}

pub fn deploy(args: DeployArgs) -> Result<ExitCode> {
    let project = build::load(&args.project_dir)?;
    let env = one_env(&project, args.env.as_deref())?.clone();
    let built = match args.skip_build {
        true => None,
        false => {
            let mut outcome = build::build(&BuildRequest {
                project_dir: args.project_dir.clone(),
                envs: vec![env.name.clone()],
                ..BuildRequest::default()
            })?;
            if outcome.failed.is_some() {
                return Ok(crate::args::exit_code(outcome.failed));
            }
            outcome.boards.remove(&env.name)
        }
    };
    // The board as the build resolved it; resolved here only without one.
    let board = match built {
        Some(board) => board,
        None => build::board_properties(&project, &env)?,
    };
    if env.platform.is_native() && !args.emulator {
        bail!(
            "[env:{}] builds for this computer (platform = native): there is no board to \
             upload to; run the program the build wrote, or `fbuild test -e {}`",
            env.name,
            env.name
        );
    }
    let rules = rules(&args.watch)?;
    if args.emulator {
        let plan = emulator_plan(&board).map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))?;
        let (tx, rx) = mpsc::channel();
        let _sim = emulator::start(&plan, tx).map_err(anyhow::Error::msg)?;
        return Ok(finish_run(watch(&rx, &rules), &rules));
    }
    // What the core's upload pattern sends (`{build.path}/{build.project_name}.hex`
    // for the AVR core, a `.bin` for others): the build must have written it.
    let firmware = upload_inputs(&board).map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))?;
    if let Some(missing) = firmware.iter().find(|f| !f.is_file()) {
        bail!(
            "{} does not exist: run `fbuild build` first (or deploy without --skip-build)",
            missing.display()
        );
    }
    let options = UploadOptions {
        speed: env.upload_speed,
        protocol: env.upload_protocol.as_deref(),
        flags: &env.upload_flags,
    };
    let in_env = |e| anyhow::anyhow!("[env:{}]: {e}", env.name);
    let explicit = args.port.as_deref().or(env.upload_port.as_deref());
    let first = upload_plan(&board, explicit.unwrap_or_default(), &options).map_err(in_env)?;
    // A USB programmer (upload_protocol = usbasp) is found by its tool.
    let mut port = match first.needs_port {
        true => board_port(explicit, &board)?,
        false => explicit.unwrap_or("usb").to_string(),
    };
    if first.touch_1200bps {
        port = touch_and_rediscover(&port, first.wait_for_upload_port)?;
    }
    // Planned again for the port the board came back on.
    let plan = upload_plan(&board, &port, &options).map_err(in_env)?;
    let what: Vec<String> = firmware.iter().map(|f| f.display().to_string()).collect();
    // A bootloader over native USB (bossac's sam-ba) has no baud rate.
    let how = match (plan.protocol.is_empty(), plan.speed.as_str()) {
        (true, "" | "0") => String::new(),
        (false, "" | "0") => format!(" ({})", plan.protocol),
        (true, speed) => format!(" (at {speed} baud)"),
        (false, speed) => format!(" ({} at {speed} baud)", plan.protocol),
    };
    eprintln!(
        "fbuild: uploading {} to {port} with {}{how}",
        if what.is_empty() {
            "the firmware".to_string()
        } else {
            what.join(", ")
        },
        plan.tool,
    );
    lease(&port, true);
    let uploaded = upload::run(&plan, &port);
    lease(&port, false);
    let (code, hint) = uploaded.map_err(anyhow::Error::msg)?;
    if code != 0 {
        eprintln!(
            "fbuild: error: {} failed (exit {code}){}",
            plan.tool,
            hint.map(|h| format!(": {h}")).unwrap_or_default()
        );
        return Ok(ExitCode::from(code.clamp(1, 255) as u8));
    }
    if !args.monitor {
        return Ok(ExitCode::SUCCESS);
    }
    let baud = args.watch.baud.or(env.monitor_speed).unwrap_or(9600);
    monitor_port(&port, baud, &rules)
}

impl MonitorArgs {
    /// `fbuild build -t monitor`.
    pub fn of(project_dir: PathBuf, env: Option<String>, port: Option<String>) -> Self {
        MonitorArgs {
            port,
            project_dir,
            env,
            watch: WatchArgs::default(),
        }
    }
}

pub fn monitor(args: MonitorArgs) -> Result<ExitCode> {
    let env = match std::fs::metadata(args.project_dir.join("platformio.ini")) {
        Ok(_) => {
            let project = build::load(&args.project_dir)?;
            Some(one_env(&project, args.env.as_deref())?.clone())
        }
        Err(_) => None,
    };
    let port = port(
        args.port
            .as_deref()
            .or(env.as_ref().and_then(|e| e.upload_port.as_deref())),
    )?;
    let baud = args
        .watch
        .baud
        .or(env.as_ref().and_then(|e| e.monitor_speed))
        .unwrap_or(9600);
    monitor_port(&port, baud, &rules(&args.watch)?)
}

pub fn device(action: DeviceAction) -> Result<ExitCode> {
    match action {
        DeviceAction::List => {
            let list = ports::list().map_err(anyhow::Error::msg)?;
            if list.is_empty() {
                println!("no serial ports");
            }
            for p in list {
                let known = p.known().map(|k| format!("  [{k}]")).unwrap_or_default();
                println!("{}{known}", p.line());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Leonardo-style boards: the 1200-baud touch, then the bootloader's port.
fn touch_and_rediscover(port: &str, wait_for_new: bool) -> Result<String> {
    let names = || {
        ports::list()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
    };
    let before = names();
    eprintln!("fbuild: resetting the board on {port} into its bootloader (1200-baud touch)");
    upload::touch_1200bps(port).map_err(anyhow::Error::msg)?;
    if !wait_for_new {
        return Ok(port.to_string());
    }
    upload::wait_for_upload_port(&before, port, BOARD_RETURN_WAIT, &names).with_context(|| {
        format!("the board did not come back after the reset of {port}; press reset and try again")
    })
}

fn monitor_port(port: &str, baud: u32, rules: &Rules) -> Result<ExitCode> {
    let paused = Arc::new(AtomicBool::new(false));
    // Registered with the coordinator before the port is opened, so an
    // upload from now on finds this monitor (bounded: no coordinator, no lease).
    let (registered, first_event) = mpsc::channel();
    watch_lease(port, Arc::clone(&paused), registered);
    let _ = first_event.recv_timeout(LEASE_REGISTER_WAIT);
    // Fail now, with the reason, if the port cannot be opened at all.
    drop(monitor::open_serial(port, baud).map_err(anyhow::Error::msg)?);
    eprintln!("fbuild: monitoring {port} at {baud} baud");
    let (tx, rx) = mpsc::channel();
    let name = port.to_string();
    std::thread::spawn(move || {
        monitor::pump_pausable(
            || monitor::open_serial(&name, baud).map_err(|e| e.to_string()),
            &paused,
            &tx,
        )
    });
    Ok(finish(watch(&rx, rules)))
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

/// Claims `port` from monitors for an upload (best effort).
fn lease(port: &str, claim: bool) {
    let Ok(client) = Client::from_env() else {
        return;
    };
    if let Ok(paused) = client.lease_port(port, claim)
        && paused > 0
    {
        eprintln!("fbuild: paused {paused} monitor(s) of {port} for the upload");
    }
}

fn watch(rx: &mpsc::Receiver<monitor::Chunk>, rules: &Rules) -> Outcome {
    monitor::catch_ctrl_c();
    monitor::watch(rx, rules, &mut std::io::stdout().lock())
}

/// Like [`finish`], for a run that can end by itself (an emulator): ending
/// without the success line that was asked for is a failure.
fn finish_run(outcome: Outcome, rules: &Rules) -> ExitCode {
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

fn rules(w: &WatchArgs) -> Result<Rules> {
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

fn port(explicit: Option<&str>) -> Result<String> {
    let list = if explicit.is_some() {
        Vec::new()
    } else {
        ports::list().unwrap_or_default()
    };
    ports::choose(&list, explicit).map_err(anyhow::Error::msg)
}

/// The environment named (one), else the first of `default_envs` (else of
/// the file).
fn one_env<'p>(project: &'p Project, name: Option<&str>) -> Result<&'p EnvConfig> {
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

/// The port of this board: `explicit`, else the one port with the board's
/// own USB ids (boards.txt `vid.N`/`pid.N`), else the one known board or
/// USB-serial bridge.
fn board_port(explicit: Option<&str>, board: &Properties) -> Result<String> {
    if explicit.is_some() {
        return port(explicit);
    }
    let ids = usb_ids(board);
    let list = ports::list().unwrap_or_default();
    let own: Vec<&ports::PortInfo> = list
        .iter()
        .filter(|p| p.usb.is_some_and(|id| ids.contains(&id)))
        .collect();
    match own.as_slice() {
        [one] => Ok(one.name.clone()),
        _ => port(None),
    }
}
