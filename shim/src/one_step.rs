//! A driver call that compiles one source and links it at once
//! (`fbuild_core::one_step`), split: the compile goes to zccache's daemon
//! over the wire with a temporary object, and the link of that object to
//! the link store, keyed by the line as the user gave it, the source, the
//! toolchain's fingerprint and the object's bytes. What the compiler and
//! the linker print comes in the order the one call prints it; the
//! temporary object is removed.

use std::ffi::OsString;
use std::path::PathBuf;

use fbuild_core::link_inputs::{self, Linker};
use fbuild_core::link_store::{self, Step, StepKind};
use fbuild_core::tool::cache_route::Came;
use fbuild_core::zwire::Kind;

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
    let object = Removed(std::env::temp_dir().join(format!(
        "fbuild-{}-{}.o",
        std::process::id(),
        link_store::unique()
    )));
    let (mut compile, link) = fbuild_core::one_step::split(&prepared.text, &object.0)?;
    let cwd = std::env::current_dir().ok()?;
    if !link_inputs::cacheable(&link, &cwd, Linker::Driver) {
        return None;
    }
    let known: Vec<_> = std::env::split_paths(target.link_dirs.as_ref()?).collect();
    let fingerprint = link_inputs::key_flag(&prepared.text, &cwd, &known)?;
    if let Some(flag) = target.color_flag.as_ref().filter(|_| prepared.wants_color) {
        compile.push(flag.clone());
    }
    let compile: Vec<OsString> = compile.into_iter().map(Into::into).collect();
    match crate::direct::compile(endpoint, &target.real, &compile, Kind::Compile, marker) {
        Came::Exited(0) => {}
        Came::Exited(code) => return Some(code),
        _ => return None,
    }
    let sum = fbuild_core::one_step::object_sum(&object.0)?;
    let fingerprint = format!("{fingerprint} object {sum}");
    let stored = crate::stored::run(&crate::stored::Stored {
        store,
        step: Step {
            tool: &target.real,
            args: &prepared.text,
            cwd: &cwd,
            fingerprint: &fingerprint,
            kind: StepKind::Link,
        },
        runs: &link,
        marker,
    });
    // A line the store cannot key (`-I dir` given apart reads as an
    // operand there): the link runs as it is, its compile done.
    stored.or_else(|| {
        let tool = fbuild_core::tool::Tool::new(&target.real)
            .args(&link)
            .env(marker.0, &marker.1);
        let (code, replay) = crate::stored::held(tool.command(), None)?;
        fbuild_core::console::write_raw(fbuild_core::console::Stream::Stdout, &replay.stdout);
        fbuild_core::console::write_raw(fbuild_core::console::Stream::Stderr, &replay.stderr);
        Some(code.unwrap_or(1))
    })
}

/// A temporary file, removed when dropped.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
