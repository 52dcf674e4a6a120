//! A compile, link or archive sent straight to zccache's daemon over its
//! wire (`fbuild_core::zwire`): no zccache client process. The tool's
//! stdout, stderr and exit code are relayed as they came (or held, for a
//! caller that prints them after a step of its own).

use std::ffi::OsString;
use std::path::Path;

use fbuild_core::link_store::Replay;
use fbuild_core::tool::cache_env;
use fbuild_core::tool::cache_route::Came;
use fbuild_core::zwire::{self, Budget, CompileCall, Kind, WireError};

/// `real args…` on zccache's daemon at `endpoint`, with this process's
/// environment by the cache tool's rules (`cache_env::readable_env`).
pub fn compile(
    endpoint: &Path,
    real: &Path,
    args: &[OsString],
    kind: Kind,
    marker: &(&str, String),
) -> Came {
    match held(endpoint, real, args, kind, marker) {
        Ok((code, printed)) => {
            printed.write();
            Came::Exited(code)
        }
        Err(came) => came,
    }
}

/// As [`compile`], what the tool printed held (not yet written): its exit
/// code and output, or what else it came to.
pub fn held(
    endpoint: &Path,
    real: &Path,
    args: &[OsString],
    kind: Kind,
    marker: &(&str, String),
) -> Result<(i32, Replay), Came> {
    let Some(args) = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        return Err(Came::Failed("an argument is not UTF-8".into()));
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut env = cache_env::readable_env();
    env.retain(|(k, _)| k != marker.0);
    env.push((marker.0.to_string(), marker.1.clone()));
    let call = CompileCall {
        compiler: real,
        args,
        cwd: &cwd,
        env,
        stdin: Vec::new(),
    };
    match zwire::compile(endpoint, call, kind, Budget::from_env()) {
        Ok(outcome) => {
            let code = outcome.code();
            let printed = Replay {
                stdout: outcome.stdout,
                stderr: outcome.stderr,
            };
            Ok((code, printed))
        }
        Err(WireError::Mismatch(why)) => Err(Came::OtherWire(why)),
        Err(other) => Err(Came::Failed(other.to_string())),
    }
}
