//! `fbuild shims [--env]`: creates or refreshes `FBUILD_HOME/shims/` (cc,
//! c++, ar, ranlib, ld as symlinks to `fbuild-shim`; on Windows `cc.exe`, … as hard
//! links to `fbuild-shim.exe`, copies where a hard link cannot be made) and
//! prints the directory, or lines that set CC/CXX/AR/RANLIB/LD for a shell:
//! `eval "$(fbuild shims --env)"`, or on Windows PowerShell's
//! `fbuild shims --env | Invoke-Expression`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use fbuild_core::Settings;
use fbuild_core::console::print_for_shell;
use fbuild_core::home::BIN_DIR_FILE;

const SHIM_BIN: &str = "fbuild-shim";

/// Shim names and the variable each one is for.
const SHIMS: &[(&str, &str)] = &[
    ("cc", "CC"),
    ("c++", "CXX"),
    ("ar", "AR"),
    ("ranlib", "RANLIB"),
    ("ld", "LD"),
];

#[derive(Args)]
pub struct ShimsArgs {
    /// Print `export CC=… CXX=… AR=… RANLIB=… LD=…` lines instead of the
    /// directory.
    #[arg(long)]
    env: bool,
}

pub fn run(args: ShimsArgs) -> Result<ExitCode> {
    let settings = Settings::from_env()?;
    let dir = settings.home.shims_dir();
    let shim = locate_shim()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let exe = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    for (name, _) in SHIMS {
        link(&shim, &exe(name))?;
    }
    record_bin_dir(&shim, &dir)?;
    if args.env {
        for (name, var) in SHIMS {
            if cfg!(windows) {
                print_for_shell(&format!("$env:{var} = {}", powershell_quote(&exe(name))));
            } else {
                println!("export {var}={}", shell_quote(&exe(name)));
            }
        }
    } else {
        print_for_shell(&dir.display().to_string());
    }
    Ok(ExitCode::SUCCESS)
}

/// `path` as a PowerShell single-quoted string: a quote inside is doubled,
/// the typographic single quotes too (PowerShell ends a string at any of
/// them: `O’Brien` broke the line).
fn powershell_quote(path: &Path) -> String {
    let mut quoted = String::from("'");
    for c in path.display().to_string().chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

fn locate_shim() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the fbuild executable")?;
    let beside = exe.with_file_name(format!("{SHIM_BIN}{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        return Ok(beside);
    }
    match which::which(SHIM_BIN) {
        Ok(found) => Ok(found),
        Err(_) => bail!(
            "cannot find {SHIM_BIN} next to {} or on PATH; reinstall fbuild",
            exe.display()
        ),
    }
}

/// Writes [`BIN_DIR_FILE`] into the shims dir: the folder of the shim's
/// binary, where `fbuild-coordinator` lies beside it (by one rename: a
/// shim reading it never sees half a path).
fn record_bin_dir(shim: &Path, dir: &Path) -> Result<()> {
    let bin_dir = std::path::absolute(shim.parent().unwrap_or(Path::new(".")))?;
    let Some(text) = bin_dir.to_str() else {
        // Not Unicode: the shims find fbuild-coordinator on PATH instead.
        return Ok(());
    };
    let at = dir.join(BIN_DIR_FILE);
    let tmp = dir.join(format!(".{BIN_DIR_FILE}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, format!("{text}\n"))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &at).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("replacing {}", at.display())
    })
}

/// Points `at` to `shim`, replacing what is there in one rename.
#[cfg(unix)]
fn link(shim: &Path, at: &Path) -> Result<()> {
    let tmp = at.with_file_name(format!(
        ".{}.tmp-{}",
        at.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(shim, &tmp)
        .with_context(|| format!("linking {} to {}", tmp.display(), shim.display()))?;
    std::fs::rename(&tmp, at).with_context(|| format!("replacing {}", at.display()))
}

/// Windows: a hard link (a copy where the home is on another volume),
/// put in place by one rename. A shim that is running cannot be replaced;
/// it is kept when it already has this shim's bytes (the same build).
#[cfg(not(unix))]
fn link(shim: &Path, at: &Path) -> Result<()> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    if at.is_file() && size(at) == size(shim) && std::fs::read(at)? == std::fs::read(shim)? {
        return Ok(());
    }
    let tmp = at.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(shim, &tmp).is_err() {
        std::fs::copy(shim, &tmp)
            .with_context(|| format!("copying {} to {}", shim.display(), tmp.display()))?;
    }
    std::fs::rename(&tmp, at).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("replacing {} (is a build using it?)", at.display())
    })
}

fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powershell_quotes_every_single_quote_kind() {
        assert_eq!(
            powershell_quote(Path::new("C:/O'Brien/O\u{2019}Neil/cc.exe")),
            "'C:/O''Brien/O\u{2019}\u{2019}Neil/cc.exe'"
        );
    }
}
