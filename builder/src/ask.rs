//! Asking the coordinator from the async build: the client is blocking, so
//! a request runs in place on a multi-thread runtime's worker
//! (`block_in_place`: no hand-off to another thread, which costs a wake-up
//! per request on the no-op path), else on the blocking pool; install
//! progress and warnings are shown as they come.

use anyhow::{Context, Result};
use fbuild_client::Client;
use fbuild_core::protocol::{Event, Reply, Request};
use tokio::runtime::{Handle, RuntimeFlavor};

pub async fn ask(client: &Client, request: Request) -> Result<Reply> {
    let served = if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(|| blocking(client, &request))
    } else {
        let client = client.clone();
        tokio::task::spawn_blocking(move || blocking(&client, &request)).await?
    };
    served.context("asking the coordinator")
}

fn blocking(client: &Client, request: &Request) -> Result<Reply, fbuild_client::ClientError> {
    let mut progress = crate::progress::InstallProgress::new();
    let served = client.request(request, &mut |event| match event {
        Event::Install(status) => progress.update(status),
        Event::Warning { message } => eprintln!("fbuild: warning: {message}"),
        _ => {}
    });
    progress.finish();
    served.map(|s| s.reply)
}
