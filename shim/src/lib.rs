//! The compiler shims `cc`, `c++`, `ar`, `ranlib`, `ld` (one binary, `fbuild-shim`,
//! dispatching on the name it is invoked as). Like rustup's proxy: classify
//! the tool, get a plan, exec it. Anything wrong in fbuild's own machinery
//! falls back to the real tool: a build never breaks because of us.

mod depfile;
mod direct;
mod exec;
mod fallback;
mod notices;
mod one_step;
mod plan;
mod probe;
mod ranlib;
mod remembered;
mod rewrites;
mod stored;
mod target;

use std::ffi::OsString;

use fbuild_platforms::classify;

/// Marker counting nested shim calls; see [`MAX_DEPTH`].
const DEPTH_VAR: &str = "FBUILD_SHIM_DEPTH";
/// More nested shim calls than this is a loop (a wrapper on PATH that calls
/// back into the shims), reported instead of forking forever.
const MAX_DEPTH: u32 = 8;

/// Entry point of `fbuild-shim`.
pub fn main() -> ! {
    let mut argv = std::env::args_os();
    let name = tool_name(&argv.next().unwrap_or_default());
    let args: Vec<OsString> = argv.collect();
    let Some(class) = classify(&name) else {
        fallback::die(
            2,
            &format!(
                "fbuild-shim: invoked as {name:?}; run it as cc, c++, ar, ranlib or ld (see `fbuild shims`)"
            ),
        );
    };
    let depth = nesting_depth(&name);
    // A call inside a compiler driver (collect2 running `ld`), inside
    // zccache's daemon, or inside another shimmed tool: the outer call is
    // the one that is planned and cached. Such a call runs the real tool
    // without asking the coordinator: its environment may not even name our
    // FBUILD_HOME (zccache's daemon runs compiles with its own environment),
    // and starting a coordinator from there is wrong.
    let nested = depth > 0
        || [
            "COLLECT_GCC",
            "ZCCACHE_DAEMON_PID",
            "ZCCACHE_CLIENT_PID",
            "ZCCACHE_LINEAGE",
        ]
        .iter()
        .any(|var| std::env::var_os(var).is_some());
    let cwd = std::env::current_dir().unwrap_or_default();
    let prepared = rewrites::prepare(class, args, nested, &cwd);
    let target = if nested {
        plan::local_only(&name)
    } else {
        plan::obtain(&name, &prepared)
    };
    exec::run(target, prepared, (DEPTH_VAR, (depth + 1).to_string()))
}

/// The file name the shim was invoked as (`cc`, `avr-gcc`, …).
fn tool_name(argv0: &std::ffi::OsStr) -> String {
    let path = std::path::Path::new(argv0);
    let exe = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("exe"));
    let name = if exe {
        path.file_stem()
    } else {
        path.file_name()
    };
    let name = name.unwrap_or(argv0).to_string_lossy().into_owned();
    // Windows file names ignore case: `CC.EXE` typed in cmd is `cc`.
    if cfg!(windows) {
        name.to_ascii_lowercase()
    } else {
        name
    }
}

fn nesting_depth(name: &str) -> u32 {
    let depth: u32 = std::env::var(DEPTH_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if depth >= MAX_DEPTH {
        fallback::die(
            1,
            &format!(
                "fbuild: {name} went through fbuild's shims {depth} times in a row: something on \
                 PATH ahead of the real {name} calls back into the shims (a wrapper script, or \
                 the shim directory twice). Fix PATH or CC/CXX."
            ),
        );
    }
    depth
}
