//! A shared compile cache (sccache with a remote storage) that fails
//! during a build: sccache compiles locally and goes on, so the build
//! succeeds, but nothing is shared. Its storage error count is read (from
//! the coordinator, which runs the server) when the build starts and when
//! it ends; a rise is told once per build.

use fbuild_client::Client;

/// sccache's storage errors so far (read and write errors, and errors by
/// language) and its storage, as the coordinator reads them from the
/// server it runs for this home; `None` when none runs (or no coordinator
/// answers).
pub fn storage_errors(client: &Client) -> Option<(u64, String)> {
    let status = client.status().ok()?;
    status.sccache.map(|s| (s.errors, s.location))
}

/// What sccache's client prints on every compile once its server is gone
/// (it then compiles locally).
const SERVER_GONE: &[u8] = b"sccache: warning: The server looks like it shut down unexpectedly";

/// A compile's stderr without sccache's note that its server is gone: a
/// build that started with a server says that once, at its end (see
/// [`warning`]), instead of once per compile.
pub fn without_server_gone(stderr: Vec<u8>) -> Vec<u8> {
    if !stderr.windows(SERVER_GONE.len()).any(|w| w == SERVER_GONE) {
        return stderr;
    }
    stderr
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.starts_with(SERVER_GONE))
        .flatten()
        .copied()
        .collect()
}

/// The warning for a storage that changed or is gone (the coordinator
/// dropped a dead remote for the local cache) or whose errors rose during
/// the build.
pub fn warning(before: &(u64, String), now: Option<(u64, String)>) -> Option<String> {
    let (after, location) = now.unwrap_or_default();
    if location != before.1 {
        return Some(fbuild_core::sccache_stats::went_away(
            &before.1,
            "it failed during this build",
        ));
    }
    (after > before.0).then(|| {
        format!(
            "the shared cache ({location}) failed {} time(s) during this build: those objects \
             were compiled here and not shared. Check the storage (SCCACHE_* settings).",
            after - before.0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_gone_note_is_dropped_and_nothing_else() {
        let err = b"a.c:1: warning: x\nsccache: warning: The server looks like it shut down \
                    unexpectedly, compiling locally instead\nb.c:2: error: y\n";
        assert_eq!(
            without_server_gone(err.to_vec()),
            b"a.c:1: warning: x\nb.c:2: error: y\n"
        );
        assert_eq!(without_server_gone(b"plain".to_vec()), b"plain");
    }
}
