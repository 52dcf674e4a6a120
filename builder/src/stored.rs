//! The build's links and archives from fbuild's link store
//! (`fbuild_core::link_store`), as the shims take theirs: a hit copies the
//! outputs back and prints what the tool printed (counted as a link hit),
//! a miss runs the tool and keeps its outputs when it succeeded and its
//! inputs did not change while it ran. Only with the cache on (zccache's
//! route, which allows links) and not `FBUILD_CACHE_LINKS=on` (then links
//! go to zccache).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Result;
use fbuild_core::link_store::{self, Planned, Replay, Step, StepKind};
use fbuild_core::zwire::Kind as ZKind;

use crate::runner::Runner;

/// A link or archive for the store: the tool, its arguments as run, the
/// toolchain fingerprint of a driver's link ("" for an archive).
pub struct StoredStep<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub fingerprint: String,
    pub kind: StepKind,
}

/// Owned, for a blocking thread.
#[derive(Clone)]
struct Owned {
    store: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
    fingerprint: String,
    kind: StepKind,
}

impl Owned {
    fn step(&self) -> Step<'_> {
        Step {
            tool: &self.program,
            args: &self.args,
            cwd: &self.cwd,
            fingerprint: &self.fingerprint,
            kind: self.kind.clone(),
        }
    }

    fn plan(&self) -> Option<Planned> {
        link_store::plan(&self.step())
    }
}

impl Runner {
    /// Runs `step` through the link store when the route allows it, else
    /// as any step without the cache. Returns the exit code.
    pub async fn run_stored(&self, step: StoredStep<'_>) -> Result<i32> {
        let route = self.route.get().filter(|r| r.links && !self.cache_failed());
        let args: Option<Vec<String>> = step
            .args
            .iter()
            .map(|a| a.to_str().map(str::to_string))
            .collect();
        let (Some(store), Some(_), Some(args)) = (&self.link_store, route, args) else {
            return self.run_direct(step.program, step.args).await;
        };
        let owned = Owned {
            store: store.clone(),
            program: step.program.to_path_buf(),
            args,
            cwd: self.cwd.clone(),
            fingerprint: step.fingerprint,
            kind: step.kind,
        };
        let looked = {
            let owned = owned.clone();
            blocking(move || {
                let planned = owned.plan()?;
                let hit = link_store::restore(&owned.store, &planned);
                Some((planned, hit))
            })
            .await
        };
        let Some((planned, hit)) = looked else {
            return self.run_direct(step.program, step.args).await;
        };
        if let Some(replay) = hit {
            if self.verbose {
                crate::report::say(
                    crate::report::Kind::Verbose,
                    format!(
                        "fbuild: [{}] from the link store: {}",
                        self.env,
                        owned.args.join(" ")
                    ),
                );
            }
            self.count_link(true);
            crate::report::tool_output(&replay.stdout);
            crate::report::tool_output(&replay.stderr);
            return Ok(0);
        }
        let out = self.output_of(step.program, step.args).await?;
        crate::report::tool_output(&out.stdout);
        crate::report::tool_output(&out.stderr);
        let code = out.status.code().unwrap_or(1);
        self.count_link(false);
        if code == 0 {
            let replay = Replay {
                stdout: out.stdout,
                stderr: out.stderr,
            };
            blocking(move || {
                link_store::keep_if_unchanged(&owned.store, &owned.step(), &planned, &replay)
            })
            .await;
        }
        Ok(code)
    }

    fn count_link(&self, hit: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.add(ZKind::Link, hit);
        counts.links_stored = true;
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
