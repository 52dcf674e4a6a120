//! Asking the coordinator from the async build: the client is blocking, so
//! a request runs in place on a multi-thread runtime's worker
//! (`block_in_place`: no hand-off to another thread, which costs a wake-up
//! per request on the no-op path), else on the blocking pool; install
//! progress and warnings are shown as they come. Requests are the client's
//! typed ones: each answers its own type or a [`RequestError`].

use crate::report::{self, Kind};
use fbuild_client::{Client, OnEvent, RequestError};
use fbuild_core::protocol::Event;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `call` (a typed request of `client`) with install progress and
/// warnings shown.
pub async fn ask<T, F>(client: &Client, call: F) -> Result<T, RequestError>
where
    F: FnOnce(&Client, OnEvent) -> Result<T, RequestError> + Send + 'static,
    T: Send + 'static,
{
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(|| blocking(client, call));
    }
    let client = client.clone();
    match tokio::task::spawn_blocking(move || blocking(&client, call)).await {
        Ok(answer) => answer,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("a coordinator request was cancelled: {e}"),
        },
    }
}

fn blocking<T>(
    client: &Client,
    call: impl FnOnce(&Client, OnEvent) -> Result<T, RequestError>,
) -> Result<T, RequestError> {
    let mut progress = crate::progress::InstallProgress::new();
    let answer = call(client, &mut |event| match event {
        Event::Install(status) => progress.update(status),
        Event::Warning { message } => {
            report::say(Kind::Warning, format!("fbuild: warning: {message}"))
        }
        _ => {}
    });
    progress.finish();
    answer
}
