//! A driver call that compiles one source and links it at once
//! (`fbuild_core::one_step`), split: the compile goes to zccache's daemon
//! over the wire with a temporary object, and the link of that object to
//! the link store, keyed by the line as the user gave it, the source, the
//! toolchain's fingerprint and the object's bytes. The link writes a
//! private output, kept and then copied over the line's (two identical
//! calls at once never store a half-written program). What the compiler
//! and the linker print comes in the order the one call prints it; the
//! temporary files are removed (and pruned by the coordinator if a
//! killed call left them).
//!
//! Until the compile has succeeded nothing is printed, so the caller may
//! still run the line whole; after it, the split goes to its end.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fbuild_core::console::{Stream, write_raw};
use fbuild_core::link_inputs::{self, Linker};
use fbuild_core::link_store::{self, Planned, Replay, Step, StepKind};
use fbuild_core::one_step::Split;
use fbuild_core::tool::Tool;
use fbuild_core::tool::cache_route::Came;
use fbuild_core::zwire::Kind;

use crate::fallback::die;
use crate::rewrites::Prepared;
use crate::target::Target;

/// The call's exit code, from the split steps; `None` when the line is
/// not split or zccache could not compile (the caller runs it whole; it
/// has printed nothing then).
pub fn run(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Option<i32> {
    let cached = target.links && target.zccache.is_some() && prepared.driver;
    if !cached || prepared.kind != Kind::Link || prepared.text.is_empty() {
        return None;
    }
    let store = target.link_store.as_ref()?;
    let endpoint = target
        .endpoint
        .as_ref()
        .filter(|_| fbuild_core::zwire::enabled())?;
    let cwd = std::env::current_dir().ok()?;
    let work = fbuild_core::one_step::work_dir(store);
    let object = Temporary::claim(&work, "o")?;
    let mut split = fbuild_core::one_step::split(&prepared.text, &object.0)?;
    if !link_inputs::cacheable(&split.link, &cwd, Linker::Driver) || clobbers(&split, &cwd) {
        return None;
    }
    let known: Vec<_> = std::env::split_paths(target.link_dirs.as_ref()?).collect();
    let fingerprint = link_inputs::key_flag(&prepared.text, &cwd, &known)?;
    let output = cwd.join(&split.output);
    let private = Temporary::claim(&work, "out")?;
    let at = split.link.iter().position(|w| *w == split.output)?;
    split.link[at] = private.0.to_str()?.to_string();
    if let Some(flag) = target.color_flag.as_ref().filter(|_| prepared.wants_color) {
        split.compile.push(flag.clone());
    }
    let compile: Vec<OsString> = split.compile.iter().map(Into::into).collect();
    let (code, printed) =
        match crate::direct::held(endpoint, &target.real, &compile, Kind::Compile, marker) {
            Ok(ran) => ran,
            Err(Came::Failed(why) | Came::OtherWire(why)) => {
                target.forget();
                crate::fallback::report_zccache_failure(&why);
                return None;
            }
            Err(Came::Exited(_)) => return None,
        };
    let sum = match code {
        0 => Some(fbuild_core::one_step::object_sum(&object.0)?),
        _ => None,
    };
    write_raw(Stream::Stdout, &printed.stdout);
    write_raw(Stream::Stderr, &printed.stderr);
    let Some(sum) = sum else {
        return Some(code);
    };
    let fingerprint = format!("{fingerprint} object {sum}");
    let step = Step {
        tool: &target.real,
        args: &prepared.text,
        cwd: &cwd,
        fingerprint: &fingerprint,
        kind: StepKind::Link,
    };
    // One output (the split takes no map file): the line's.
    let planned = link_store::plan(&step).filter(|p| p.outputs == [output.clone()]);
    if let Some(replay) = planned.as_ref().and_then(|p| link_store::restore(store, p)) {
        print(&replay);
        return Some(0);
    }
    let tool = Tool::new(&target.real)
        .args(&split.link)
        .env(marker.0, &marker.1);
    let Some((code, replay)) = crate::stored::held(tool.command(), None) else {
        die(
            127,
            &format!("fbuild: cannot run {}", target.real.display()),
        );
    };
    print(&replay);
    let code = code.unwrap_or(1);
    if code != 0 {
        return Some(code);
    }
    if let Some(planned) = planned.filter(|p| link_store::plan(&step).as_ref() == Some(p)) {
        let kept = Planned {
            key: planned.key,
            outputs: vec![private.0.clone()],
        };
        let _ = link_store::keep(store, &kept, &replay);
    }
    if let Err(e) = link_store::copy_over(&private.0, &output) {
        die(1, &format!("fbuild: writing {}: {e}", output.display()));
    }
    Some(0)
}

fn print(replay: &Replay) {
    write_raw(Stream::Stdout, &replay.stdout);
    write_raw(Stream::Stderr, &replay.stderr);
}

/// Whether the output is a file the line reads (the one call refuses
/// that), or is in a folder that is not there (the one call's error is
/// the linker's, about that path).
fn clobbers(split: &Split, cwd: &Path) -> bool {
    let output = cwd.join(&split.output);
    let folder_missing = output.parent().is_none_or(|p| !p.is_dir());
    let Ok(real) = output.canonicalize() else {
        return folder_missing;
    };
    let reads =
        std::iter::once(&split.source).chain(split.link.iter().filter(|w| **w != split.output));
    let mut inputs = reads.filter_map(|w| cwd.join(w).canonicalize().ok());
    folder_missing || inputs.any(|i| i == real)
}

/// A file of the split's own, created new (never one another call or
/// user made), removed when dropped.
struct Temporary(PathBuf);

impl Temporary {
    fn claim(dir: &Path, extension: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join(format!("{}.{extension}", link_store::unique()));
        std::fs::File::create_new(&path).ok()?;
        Some(Temporary(path))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
