//! How a build fails, as the builder's callers see it. A compiler that
//! fails is not one of these: its output was shown and its exit code is in
//! [`crate::BuildOutcome`] / [`crate::Built`]. These are the build that
//! could not be attempted or finished: a `platformio.ini` that cannot be
//! used (file and line), fbuild's coordinator that cannot be reached, and
//! everything else with the chain of what was being done
//! (`writing <path>: …`).

use fbuild_client::ClientError;

use crate::project::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `platformio.ini` (or a file it names) cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// fbuild's coordinator cannot be reached or started.
    #[error(transparent)]
    Coordinator(#[from] ClientError),
    /// Anything else, with what was being done.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}
