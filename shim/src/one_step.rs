//! A driver call that compiles one source and links it at once
//! (`fbuild_core::one_step`), split: the compile goes to zccache's daemon
//! over the wire with a temporary object, and the link of that object to
//! the link store, keyed by the line as the user gave it, the source, the
//! toolchain's fingerprint and the object's bytes. The link writes a
//! private output (the line's file name, in a folder of its own), copied
//! over the line's and then kept (two identical calls at once never store
//! a half-written program). What the compiler and the linker print comes
//! in the order the one call prints it; a failed link removes the old
//! output as `ld` does; the temporary files are removed (and pruned when
//! the coordinator starts if a killed call left them).
//!
//! Until the compile has succeeded nothing is printed, so the caller may
//! still run the line whole; after it, the split goes to its end.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fbuild_core::link_inputs::{self, Linker};
use fbuild_core::link_store::{self, Planned, Step, StepKind};
use fbuild_core::one_step::Split;
use fbuild_core::tool::Tool;
use fbuild_core::tool::cache_route::Came;
use fbuild_core::zwire::Kind;

use crate::fallback::say;
use crate::rewrites::Prepared;
use crate::target::Target;

/// The call's exit code, from the split steps; `None` when the line is
/// not split or zccache could not compile (the caller runs it whole; it
/// has printed nothing then).
pub fn run(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Option<i32> {
    let ready = prepare(target, prepared)?;
    let sum = match compile(target, marker, &ready)? {
        Ok(sum) => sum,
        Err(code) => return Some(code),
    };
    Some(link(target, marker, &ready, &sum))
}

/// A split line with its files claimed and its key's fingerprint.
struct Ready {
    split: Split,
    store: PathBuf,
    endpoint: PathBuf,
    cwd: PathBuf,
    fingerprint: String,
    /// The line's output (joined to the working directory).
    output: PathBuf,
    object: Temporary,
    /// The folder of the private output, which is `private`.
    _private_dir: Temporary,
    private: PathBuf,
}

/// The split of the line, or `None` when it is not split (see the
/// module's text).
fn prepare(target: &Target, prepared: &Prepared) -> Option<Ready> {
    let cached = target.links && target.zccache.is_some() && prepared.driver;
    let compiler = target.real.file_name()?.to_str()?;
    if !cached || prepared.kind != Kind::Link || !fbuild_core::one_step::splits_for(compiler) {
        return None;
    }
    let store = target.link_store.clone()?;
    let endpoint = target
        .endpoint
        .clone()
        .filter(|_| fbuild_core::zwire::enabled())?;
    let cwd = std::env::current_dir().ok()?;
    let work = fbuild_core::one_step::work_dir(&store);
    let name = link_store::unique();
    let object = work.join(format!("{name}.o"));
    let mut split = fbuild_core::one_step::split(&prepared.text, &object)?;
    if !link_inputs::cacheable(&split.link, &cwd, Linker::Driver) || clobbers(&split, &cwd) {
        return None;
    }
    let known: Vec<_> = std::env::split_paths(target.link_dirs.as_ref()?).collect();
    let fingerprint =
        link_inputs::key_flag(&split.keyed, &cwd, &known, target.link_store.as_deref())?;
    let output = cwd.join(&split.output);
    let private_dir = Temporary::folder(work.join(&name))?;
    let private = private_dir.0.join(output.file_name()?);
    let at = split.link.iter().position(|w| *w == split.output)?;
    split.link[at] = private.to_str()?.to_string();
    if let Some(flag) = target.color_flag.as_ref().filter(|_| prepared.wants_color) {
        split.compile.push(flag.clone());
    }
    Some(Ready {
        object: Temporary::file(object)?,
        split,
        store,
        endpoint,
        cwd,
        fingerprint,
        output,
        _private_dir: private_dir,
        private,
    })
}

/// The compile on zccache's daemon: `Ok(the object's sum)`, `Err(its
/// exit code)` when it failed (its messages printed), `None` when the
/// cache machinery failed or no object came (nothing printed).
fn compile(target: &Target, marker: &(&str, String), ready: &Ready) -> Option<Result<String, i32>> {
    let words: Vec<OsString> = ready.split.compile.iter().map(Into::into).collect();
    let held = crate::direct::held(&ready.endpoint, &target.real, &words, Kind::Compile, marker);
    let (code, printed) = match held {
        Ok(ran) => ran,
        Err(Came::Failed(why) | Came::OtherWire(why)) => {
            target.forget();
            crate::fallback::report_zccache_failure(&why);
            return None;
        }
        Err(Came::Exited(_)) => return None,
    };
    let sum = match code {
        0 => Ok(fbuild_core::one_step::object_sum(&ready.object.0)?),
        code => Err(code),
    };
    printed.write();
    Some(sum)
}

/// The link of the compiled object, from the store or run: its exit
/// code.
fn link(target: &Target, marker: &(&str, String), ready: &Ready, sum: &str) -> i32 {
    let fingerprint = format!("{} object {sum}", ready.fingerprint);
    let step = Step {
        tool: &target.real,
        args: &ready.split.keyed,
        cwd: &ready.cwd,
        fingerprint: &fingerprint,
        kind: StepKind::Link,
    };
    // One output (the split takes no map file): the line's.
    let planned = link_store::plan(&step).filter(|p| p.outputs == [ready.output.clone()]);
    if let Some(replay) = planned
        .as_ref()
        .and_then(|p| link_store::restore(&ready.store, p))
    {
        replay.write();
        return 0;
    }
    let tool = Tool::new(&target.real)
        .args(&ready.split.link)
        .env(marker.0, &marker.1);
    let Some((code, replay)) = crate::stored::held(tool.command(), None) else {
        say(&format!("fbuild: cannot run {}", target.real.display()));
        return 127;
    };
    replay.write();
    let code = code.unwrap_or(1);
    if code != 0 {
        // `ld` removes the output it could not write.
        if std::fs::symlink_metadata(&ready.output).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&ready.output);
        }
        return code;
    }
    if let Err(e) = link_store::copy_over(&ready.private, &ready.output) {
        say(&format!("fbuild: writing {}: {e}", ready.output.display()));
        return 1;
    }
    let written = std::fs::metadata(&ready.private).is_ok_and(|m| m.len() > 0);
    let unchanged = link_store::plan(&step) == planned;
    if let Some(planned) = planned.filter(|_| written && unchanged) {
        let kept = Planned {
            key: planned.key,
            outputs: vec![ready.private.clone()],
        };
        let _ = link_store::keep(&ready.store, &kept, &replay);
    }
    0
}

/// Whether the output is a file the line reads (the one call refuses
/// that), is no regular file (a folder), or is in a folder that is not
/// there: the compiler's own error is wanted then.
fn clobbers(split: &Split, cwd: &Path) -> bool {
    let output = cwd.join(&split.output);
    let folder_missing = output.parent().is_none_or(|p| !p.is_dir());
    let Ok(real) = output.canonicalize() else {
        return folder_missing;
    };
    let reads =
        std::iter::once(&split.source).chain(split.link.iter().filter(|w| **w != split.output));
    let mut inputs = reads.filter_map(|w| cwd.join(w).canonicalize().ok());
    folder_missing || !real.is_file() || inputs.any(|i| i == real)
}

/// A file or folder of the split's own, created new (never one another
/// call or user made), removed when dropped.
struct Temporary(PathBuf);

impl Temporary {
    fn file(path: PathBuf) -> Option<Self> {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::File::create_new(&path).ok()?;
        Some(Temporary(path))
    }

    fn folder(path: PathBuf) -> Option<Self> {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::create_dir(&path).ok()?;
        Some(Temporary(path))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0).or_else(|_| std::fs::remove_dir_all(&self.0));
    }
}
