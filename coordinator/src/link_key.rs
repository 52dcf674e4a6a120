//! The library folders and files of a compiler, for links through the
//! cache (see `fbuild_core::link_inputs`): the folders of
//! `-print-search-dirs`, the linker (`-print-prog-name=ld`) and the
//! libraries a link takes by itself (`libgcc`, `libc`, `crt1.o`), probed
//! once per compiler as it is now, together with a test link showing the
//! driver takes the key flag silently (Clang warns about an unused `-D` on
//! a link: its links are not cached). The fingerprint itself is taken
//! where the link runs, from them as they are then.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fbuild_core::link_inputs;
use fbuild_core::time::HEALTH_CHECK_TIMEOUT;
use fbuild_core::tool::{Runner, Tool};

use crate::process::{PerCompiler, ProbeDir};

#[derive(Default)]
pub struct LinkDirs {
    probes: PerCompiler<Option<Vec<PathBuf>>>,
}

impl LinkDirs {
    /// `compiler`'s library folders and files, or `None` when its links
    /// may not go through the cache (the probe failed, or the key flag is
    /// not silent).
    pub async fn of(&self, runner: &Arc<dyn Runner>, compiler: &Path) -> Option<Vec<PathBuf>> {
        self.probes
            .get(runner, compiler, probe)
            .await
            .ok()
            .flatten()
    }
}

fn probe(runner: &dyn Runner, compiler: &Path) -> Result<Option<Vec<PathBuf>>, String> {
    tracing::info!(compiler = %compiler.display(), "probe: library folders");
    let dir = ProbeDir::new(&[("probe.c", "int main(void) { return 0; }\n")])?;
    let run = |args: &[&str]| {
        runner
            .output(
                &Tool::new(compiler).args(args).current_dir(dir.path()),
                HEALTH_CHECK_TIMEOUT,
            )
            .map_err(|e| e.to_string())
    };
    let dirs = run(&["-print-search-dirs"])?;
    let mut known = link_inputs::library_dirs(&String::from_utf8_lossy(&dirs.stdout));
    if known.is_empty() {
        return Ok(None);
    }
    // The files a link takes from the toolchain by itself, and the linker.
    for query in [
        "-print-prog-name=ld",
        "-print-libgcc-file-name",
        "-print-file-name=libc.a",
        "-print-file-name=libc.so",
        "-print-file-name=crt1.o",
        "-print-file-name=crti.o",
    ] {
        let out = run(&[query])?;
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if path.is_absolute() && path.is_file() {
            known.push(path);
        }
    }
    let object = run(&["-c", "probe.c", "-o", "probe.o"])?;
    let link_args = ["probe.o".to_string(), "-o".into(), "probe.out".into()];
    let Some(flag) = link_inputs::key_flag(&link_args, dir.path(), &known, None) else {
        return Ok(None);
    };
    let link = run(&["probe.o", &flag, "-o", "probe.out"])?;
    let silent = object.status.success() && link.status.success() && link.stderr.is_empty();
    Ok(silent.then_some(known))
}
