//! `fbuild deploy` and `fbuild device list`: flash the firmware with the
//! core's upload recipe (or run it in the emulator), then watch the serial
//! line (`monitor_cmd`) when asked; list the ports.

use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use fbuild_client::Client;
use fbuild_core::time::BOARD_RETURN_WAIT;
use fbuild_deploy::recipe::{UploadOptions, emulator_plan, upload_inputs, upload_plan, usb_ids};
use fbuild_deploy::{emulator, ports, upload};
use fbuild_platforms::arduino::Properties;

use crate::monitor_cmd::{WatchArgs, finish_run, one_env, port, rules, watch, watch_port};
use fbuild_builder::{self as build, BuildRequest};

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    project: crate::args::ProjectDir,
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
    /// The port to watch (default: the env's monitor_port, else the port
    /// uploaded to).
    #[arg(long, requires = "monitor")]
    monitor_port: Option<String>,
    #[command(flatten)]
    watch: WatchArgs,
    /// How to build first (`fbuild run -t upload -j 4 -v`).
    #[arg(skip)]
    build: BuildRequest,
}

impl DeployArgs {
    /// `fbuild build -t upload` (PlatformIO's `pio run -t upload`): build,
    /// flash, and watch with `-t monitor` (`Some`: on that port, else the
    /// default).
    pub fn upload(
        build: BuildRequest,
        env: Option<String>,
        port: Option<String>,
        monitor: Option<Option<String>>,
    ) -> Self {
        DeployArgs {
            project: crate::args::ProjectDir::of(build.project_dir.clone()),
            build,
            env,
            port,
            emulator: false,
            skip_build: false,
            monitor: monitor.is_some(),
            monitor_port: monitor.flatten(),
            watch: WatchArgs::default(),
        }
    }
}

#[derive(Subcommand)]
pub enum DeviceAction {
    /// Serial ports with USB VID:PID and description.
    List {
        /// As JSON (PlatformIO's fields: port, description, hwid).
        #[arg(long)]
        json_output: bool,
    },
    /// Watch a serial port (= `fbuild monitor`, as PlatformIO's `pio
    /// device monitor`).
    Monitor(Box<crate::monitor_cmd::MonitorArgs>),
}

pub fn deploy(args: DeployArgs) -> Result<ExitCode> {
    let project_dir = args.project.path();
    let project = build::load(&project_dir)?;
    let env = one_env(&project, args.env.as_deref())?.clone();
    let built = match args.skip_build {
        true => None,
        false => {
            let mut outcome = build::build(&BuildRequest {
                project_dir: project_dir.clone(),
                envs: vec![env.name.clone()],
                ..args.build.clone()
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
    if !plan.speed_taken {
        eprintln!(
            "fbuild: warning: [env:{}] upload_speed is not used: {}'s recipe for {} takes no \
             speed; add -b$UPLOAD_SPEED to upload_flags (as PlatformIO's Arduino-as-ISP setup)",
            env.name, plan.tool, plan.protocol
        );
    }
    let to = match (plan.needs_port, explicit) {
        (true, _) => format!(" to {port}"),
        (false, Some(given)) => {
            eprintln!(
                "fbuild: warning: {} ({}) finds its USB device itself: the port {given} is not used",
                plan.tool, plan.protocol
            );
            String::new()
        }
        (false, None) => String::new(),
    };
    eprintln!(
        "fbuild: uploading {}{to} with {}{how}",
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
    let watched = args
        .monitor_port
        .as_deref()
        .or(env.monitor.port.as_deref())
        .unwrap_or(&port);
    watch_port(watched, &args.watch, Some(&env), &project_dir)
}

pub fn device(action: DeviceAction) -> Result<ExitCode> {
    match action {
        DeviceAction::List { json_output } => {
            let list = ports::list().map_err(anyhow::Error::msg)?;
            match (json_output, list.is_empty()) {
                (true, _) => println!("{}", ports::json(&list)),
                (false, true) => println!("no serial ports"),
                (false, false) => print!("{}", ports::table(&list)),
            }
            Ok(ExitCode::SUCCESS)
        }
        DeviceAction::Monitor(args) => crate::monitor_cmd::monitor(*args),
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
