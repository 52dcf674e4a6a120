//! A compile, link or archive sent straight to zccache's daemon over its
//! wire (`fbuild_core::zwire`): no zccache client process. The tool's
//! stdout, stderr and exit code are relayed as they came.

use std::ffi::OsString;
use std::path::Path;

use fbuild_core::console::{self, Stream};
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
    let Some(args) = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        return Came::Failed("an argument is not UTF-8".into());
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
            console::write_raw(Stream::Stdout, &outcome.stdout);
            console::write_raw(Stream::Stderr, &outcome.stderr);
            Came::Exited(outcome.code())
        }
        Err(WireError::Mismatch(why)) => Came::OtherWire(why),
        Err(other) => Came::Failed(other.to_string()),
    }
}
