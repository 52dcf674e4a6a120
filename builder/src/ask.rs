//! Asking the coordinator from the async build: the client is blocking, so
//! requests run on the blocking pool, with install progress and warnings
//! shown as they come.

use anyhow::{Context, Result};
use fbuild_client::Client;
use fbuild_core::protocol::{Event, Reply, Request};

/// A coordinator request off the async threads (the client is blocking).
pub async fn ask(client: &Client, request: Request) -> Result<Reply> {
    let client = client.clone();
    tokio::task::spawn_blocking(move || {
        let mut progress = crate::progress::InstallProgress::new();
        let served = client.request(&request, &mut |event| match event {
            Event::Install(status) => progress.update(status),
            Event::Warning { message } => eprintln!("fbuild: warning: {message}"),
            _ => {}
        });
        progress.finish();
        served.map(|s| s.reply)
    })
    .await?
    .context("asking the coordinator")
}
