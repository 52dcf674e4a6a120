//! `fbuild daemon start|status|stop`: the coordinator seen from the command
//! line.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use fbuild_client::{Client, ClientError, RequestError};
use fbuild_core::cache_figures::CacheAction;
use fbuild_core::protocol::Status;

#[derive(Subcommand)]
pub enum DaemonAction {
    /// Start the coordinator unless one runs; print its pid.
    Start,
    /// Show the running coordinator; exit 1 if none runs (never starts one).
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the running coordinator and wait until it is gone.
    Stop,
}

pub fn run(action: DaemonAction) -> Result<ExitCode> {
    let client = Client::from_env()?;
    match action {
        DaemonAction::Start => {
            let hello = client.start().context("starting the coordinator")?;
            println!("{}", hello.pid);
            Ok(ExitCode::SUCCESS)
        }
        DaemonAction::Status { json } => status(&client, json),
        DaemonAction::Stop => {
            match client.stop().context("stopping the coordinator")? {
                Some(pid) => println!("stopped coordinator (pid {pid})"),
                None => println!("not running"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn status(client: &Client, json: bool) -> Result<ExitCode> {
    let status = match client.status() {
        Err(RequestError::Client(ClientError::NotRunning)) => {
            if json {
                println!("{}", serde_json::json!({ "running": false }));
            } else {
                println!("not running");
            }
            return Ok(ExitCode::FAILURE);
        }
        other => other.context("asking the coordinator for its status")?,
    };
    // The cache's totals (`fbuild cache stats`), when it answers.
    let figures = client.cache(CacheAction::Stats).ok();
    if json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = serde_json::Value::Bool(true);
        value["cache"] = serde_json::to_value(&figures)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_status(&status);
        if let Some(f) = figures.filter(|f| f.running && f.cache == "zccache") {
            println!(
                "  cache:     compiles {}",
                crate::cache_cmd::counts(f.compiles)
            );
            println!("             links {}", crate::cache_cmd::counts(f.links));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(s: &Status) {
    println!("coordinator running");
    println!("  pid:       {}", s.pid);
    println!("  version:   {} (protocol {})", s.version, s.protocol);
    println!("  uptime:    {} s", s.uptime_secs);
    println!("  home:      {}", s.home);
    println!("  socket:    {}", s.socket);
    println!(
        "  requests:  {} in flight (this one included); exits after {} s idle",
        s.active_requests, s.idle_exit_secs
    );
    match &s.zccache {
        None => println!("  zccache:   not decided yet (nothing has asked for it)"),
        Some(z) => {
            let path = z
                .path
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string());
            println!(
                "  zccache:   {} ({}), mode {}",
                z.source,
                path,
                z.mode.as_str()
            );
            println!("             {}", z.reason);
            if !z.compiles.is_empty() {
                println!("  compiles:  {}", z.compiles);
            }
        }
    }
    if let Some(sc) = &s.sccache {
        println!(
            "  sccache:   storage {}; {} hits, {} misses, {} storage errors ({} compile requests)",
            sc.location, sc.hits, sc.misses, sc.errors, sc.compile_requests
        );
    }
    if s.installs.is_empty() {
        println!("  installs:  none");
    }
    for i in &s.installs {
        println!("  install:   {}", i.summary());
        if let Some(err) = &i.last_error {
            println!("             last error: {err}");
        }
    }
}
