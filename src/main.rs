//! `fbuild`, the driver: the user-facing command line. Each subcommand lives
//! in its own module; this file only parses and dispatches.

mod args;
mod boards_cmd;
mod build_cmd;
mod cache_cmd;
mod ci_cmd;
mod ci_slot;
mod daemon_cmd;
mod deploy_cmd;
mod install_cmd;
mod lib_cmd;
mod monitor_cmd;
mod project_cmd;
mod shims_cmd;
mod test_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fbuild_core::settings::DEFAULT_LOG_FILTER;

#[derive(Parser)]
#[command(
    name = "fbuild",
    version,
    about = "Toolchain drop-in for C/C++ and embedded builds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage the coordinator (the per-user daemon that owns installs).
    Daemon {
        #[command(subcommand)]
        action: daemon_cmd::DaemonAction,
    },
    /// Install (or check) a managed tool in the foreground: `zccache`.
    Install(install_cmd::InstallArgs),
    /// Create or refresh the cc/c++/ar/ld shims; print their directory.
    Shims(shims_cmd::ShimsArgs),
    /// Build the firmware of a platformio.ini project (`run`, as
    /// PlatformIO's `pio run`, with its `-t` targets).
    #[command(visible_alias = "run")]
    Build(build_cmd::BuildArgs),
    /// Build and run the project's unit tests (test/<suite>/, Unity).
    Test(test_cmd::TestArgs),
    /// Remove a project's build outputs.
    Clean(build_cmd::CleanArgs),
    /// Build and flash the firmware (avrdude), or run it in the emulator
    /// (`upload`, as PlatformIO says).
    #[command(visible_alias = "upload")]
    Deploy(deploy_cmd::DeployArgs),
    /// Watch a serial port.
    Monitor(monitor_cmd::MonitorArgs),
    /// Library dependencies (lib_deps) and fbuild.lock.
    Lib {
        #[command(subcommand)]
        action: lib_cmd::LibAction,
    },
    /// The compile cache's figures (stats), and zeroing or clearing it.
    Cache {
        #[command(subcommand)]
        action: cache_cmd::CacheCmd,
    },
    /// Build example folders or sketches for boards without a project
    /// (PlatformIO's `pio ci`): `fbuild ci examples/*/ --lib . -b uno`.
    Ci(ci_cmd::CiArgs),
    /// Serial devices.
    Device {
        #[command(subcommand)]
        action: deploy_cmd::DeviceAction,
    },
    /// The boards fbuild knows by PlatformIO's ids (`pio boards`).
    Boards(boards_cmd::BoardsArgs),
    /// Make a project folder (`pio project init`).
    Project {
        #[command(subcommand)]
        action: project_cmd::ProjectAction,
    },
    /// Make a project folder (= `fbuild project init`, PlatformIO's old
    /// `pio init`).
    Init(project_cmd::InitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // The driver decides where the build engine's lines go: as a terminal
    // user expects them (results on stdout, the rest on stderr; a test's
    // builds are not its results).
    fbuild_builder::report::set(Box::new(fbuild_builder::report::Stderr {
        summaries_on_stdout: !matches!(cli.command, Command::Test(_)),
    }));
    warn_about_settings();
    let result = match cli.command {
        Command::Daemon { action } => daemon_cmd::run(action),
        Command::Install(args) => install_cmd::run(args),
        Command::Shims(args) => shims_cmd::run(args),
        Command::Build(args) => build_cmd::build(args),
        Command::Test(args) => test_cmd::run(args),
        Command::Clean(args) => build_cmd::clean(args),
        Command::Deploy(args) => deploy_cmd::deploy(args),
        Command::Monitor(args) => monitor_cmd::monitor(args),
        Command::Device { action } => deploy_cmd::device(action),
        Command::Lib { action } => lib_cmd::run(action),
        Command::Cache { action } => cache_cmd::run(action),
        Command::Ci(args) => ci_cmd::run(args),
        Command::Boards(args) => boards_cmd::run(args),
        Command::Project { action } => project_cmd::run(action),
        Command::Init(args) => project_cmd::init(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fbuild: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Settings whose values cannot be used (each replaced by its default),
/// said once per command. A missing home is each command's own error.
fn warn_about_settings() {
    if let Ok(settings) = fbuild_core::Settings::from_env() {
        for warning in settings.warnings {
            eprintln!("fbuild: warning: {warning}");
        }
    }
}

/// Logs go to stderr, filtered by FBUILD_LOG (default
/// [`DEFAULT_LOG_FILTER`]); user-facing output goes to stdout.
fn init_logging() {
    let filter = fbuild_core::settings::log_filter();
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
