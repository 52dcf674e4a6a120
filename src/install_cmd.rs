//! `fbuild install zccache [--no-daemon]`: install (or check) the managed
//! zccache in the foreground, with progress; non-zero exit with the reason
//! on failure.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use fbuild_client::{Client, RequestError};
use fbuild_coordinator::install::{Installer, follow};
use fbuild_coordinator::zccache;
use fbuild_core::Settings;
use fbuild_core::protocol::Event;

use fbuild_builder::progress::InstallProgress;

#[derive(Args)]
pub struct InstallArgs {
    /// What to install: `zccache`.
    package: String,
    /// Install in this process instead of through the coordinator (the
    /// cross-process install lock still keeps it to one download).
    #[arg(long)]
    no_daemon: bool,
}

pub fn run(args: InstallArgs) -> Result<ExitCode> {
    if args.package != "zccache" {
        bail!("unknown package {:?}; known: zccache", args.package);
    }
    let settings = Settings::from_env()?;
    let mut progress = InstallProgress::new();
    let result = if args.no_daemon {
        install_here(&settings, &mut progress)
    } else {
        install_via_coordinator(settings, &mut progress)
    };
    progress.finish();
    let path = result?;
    println!("{path}");
    Ok(ExitCode::SUCCESS)
}

fn install_via_coordinator(settings: Settings, progress: &mut InstallProgress) -> Result<String> {
    let client = Client::new(settings);
    let answer = client.install("zccache", true, &mut |event| {
        if let Event::Install(status) = event {
            progress.update(status);
        }
    });
    match answer {
        Ok(path) => Ok(path),
        Err(RequestError::Refused { message, .. }) => {
            bail!("installing zccache failed: {message}")
        }
        Err(machinery) => Err(machinery).context("asking the coordinator to install zccache"),
    }
}

fn install_here(settings: &Settings, progress: &mut InstallProgress) -> Result<String> {
    let spec = zccache::spec(settings)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let installer = Installer::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = runtime.block_on(async {
        let task = installer.ensure(spec, true);
        let follower = tokio::spawn(async move { follow(task, &tx).await });
        while let Some(status) = rx.recv().await {
            progress.update(&status);
        }
        follower
            .await
            .map_err(|e| anyhow::anyhow!("the install task failed: {e}"))
    });
    match outcome? {
        Ok(path) => Ok(path.display().to_string()),
        Err(why) => bail!("installing zccache failed: {why}"),
    }
}
