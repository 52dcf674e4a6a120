//! A compile sent straight to zccache's daemon over its wire
//! (`fbuild_core::zwire`): no zccache client process. The compiler's
//! stdout, stderr and exit code are relayed as they came.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use fbuild_core::tool::cache_env;
use fbuild_core::zwire::{self, Budget, CompileCall, WireError};

/// What became of the compile.
pub enum Direct {
    /// It ran (or came from the cache): this is its exit code.
    Exited(i32),
    /// The daemon speaks another wire: zccache's own client must run it.
    OtherWire(String),
    /// The cache machinery failed: the compile must run without it.
    Failed(String),
}

/// `real args…` on zccache's daemon at `endpoint`, with this process's
/// environment by the cache tool's rules (`cache_env::readable_env`).
pub fn compile(endpoint: &Path, real: &Path, args: &[OsString], marker: &(&str, String)) -> Direct {
    let Some(args) = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        return Direct::Failed("an argument is not UTF-8".into());
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
    match zwire::compile(endpoint, call, Budget::from_env()) {
        Ok(outcome) => {
            let _ = std::io::stdout().lock().write_all(&outcome.stdout);
            let _ = std::io::stderr().lock().write_all(&outcome.stderr);
            Direct::Exited(outcome.code())
        }
        Err(WireError::Mismatch(why)) => Direct::OtherWire(why),
        Err(other) => Direct::Failed(other.to_string()),
    }
}
