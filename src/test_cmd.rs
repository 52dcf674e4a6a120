//! `fbuild test`: the command-line face of `fbuild_tester`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    project: crate::args::ProjectDir,
    /// Environments to test (default: default_envs, else all).
    #[arg(short = 'e', long = "environment")]
    env: Vec<String>,
    /// Run only suites matching this glob (repeatable).
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Skip suites matching this glob (repeatable).
    #[arg(short = 'i', long = "ignore")]
    ignore: Vec<String>,
    /// Read the board's output without flashing it first.
    #[arg(long)]
    without_uploading: bool,
    /// Run on the board at this serial port (default for boards with an
    /// emulator: the emulator).
    #[arg(long)]
    upload_port: Option<String>,
    /// A board's serial port to read the test output at (default:
    /// test_port, else the upload port); naming one means a real board,
    /// flashed on it too unless --upload-port names another.
    #[arg(long)]
    test_port: Option<String>,
    /// Write the results as JUnit XML here.
    #[arg(long)]
    junit_xml: Option<PathBuf>,
    /// Print PlatformIO's JSON report on stdout (everything else on stderr).
    #[arg(long)]
    json_output: bool,
    /// Write PlatformIO's JSON report to this file.
    #[arg(long)]
    json_output_path: Option<PathBuf>,
    /// List the suites each environment would run, and stop.
    #[arg(long)]
    list_tests: bool,
    /// Run what the last `fbuild test` built, without building.
    #[arg(long)]
    without_building: bool,
    /// Seconds a suite may run (its build not counted).
    #[arg(long, default_value = "60", value_parser = crate::args::timeout_secs)]
    timeout: Duration,
    /// Suites built and run at once (default: the number of cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Show build commands and the programs' own output.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    fbuild_tester::run(&fbuild_tester::TestArgs {
        project_dir: args.project.path(),
        envs: args.env,
        filters: args.filter,
        ignores: args.ignore,
        without_uploading: args.without_uploading,
        upload_port: args.upload_port,
        test_port: args.test_port,
        junit_xml: args.junit_xml,
        json_output: args.json_output,
        json_output_path: args.json_output_path,
        list_tests: args.list_tests,
        without_building: args.without_building,
        timeout: args.timeout,
        jobs: args.jobs,
        verbose: args.verbose,
    })
}
