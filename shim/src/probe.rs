//! Compiler probes (`fbuild_core::probe_store`), answered from the link
//! store when the cache is on: a line that reads a program on stdin (`-`)
//! has stdin read here first; a kept answer gives back the exit code and
//! what the compiler printed, without running it; otherwise the real
//! compiler runs with those bytes on its stdin, its output held until it
//! exits, and its answer is kept when the key allows.

use std::io::Read;

use fbuild_core::link_inputs;
use fbuild_core::probe_store::{self, Probe};

use crate::rewrites::Prepared;
use crate::target::Target;

/// The probe's exit code, from the store or the real compiler; `None` when
/// the line is no probe the store takes (the caller runs it as usual;
/// stdin is untouched then).
pub fn run(target: &Target, prepared: &Prepared, marker: &(&str, String)) -> Option<i32> {
    if !prepared.driver || !target.links || target.zccache.is_none() {
        return None;
    }
    let store = target.link_store.as_ref()?;
    probe_store::inputs(&prepared.text)?;
    let cwd = std::env::current_dir().ok()?;
    let known: Vec<_> = std::env::split_paths(target.link_dirs.as_ref()?).collect();
    let fingerprint =
        link_inputs::key_flag(&prepared.text, &cwd, &known, target.link_store.as_deref())?;
    // From here stdin is ours: the real compiler gets it from us.
    let reads_stdin = prepared.text.iter().any(|a| a == "-");
    let mut stdin = Vec::new();
    // A read that failed gives the compiler what came; nothing is kept.
    let whole = !reads_stdin || std::io::stdin().lock().read_to_end(&mut stdin).is_ok();
    let probe = Probe {
        tool: &target.real,
        args: &prepared.text,
        cwd: &cwd,
        stdin: reads_stdin.then_some(stdin.as_slice()),
        fingerprint: &fingerprint,
    };
    let key = probe_store::plan(&probe).filter(|_| whole);
    if let Some((code, replay)) = key.as_ref().and_then(|k| probe_store::answer(store, k)) {
        replay.write();
        return Some(code);
    }
    let command = crate::target::real_command(target, prepared, marker).command();
    let (code, replay) = match crate::stored::held(command, reads_stdin.then_some(&stdin[..])) {
        Some(ran) => ran,
        None => crate::fallback::die(
            127,
            &format!("fbuild: cannot run {}", target.real.display()),
        ),
    };
    replay.write();
    // Kept when the run ended as a run does and nothing of the key
    // changed while it ran (an input, the compiler, the toolchain).
    if let (Some(key), Some(code)) = (key, code)
        && probe_store::plan(&probe).as_ref() == Some(&key)
    {
        let _ = probe_store::keep(store, &key, code, &replay);
    }
    Some(code.unwrap_or(1))
}
