//! Command line of `fbuild-coordinator`. Clients start it as
//! `fbuild-coordinator --home <FBUILD_HOME>`; the home is on the command line
//! so `ps` (and tests) can tell which home a coordinator serves.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, bail};

#[derive(Debug, Default)]
pub struct Args {
    pub home: Option<PathBuf>,
}

pub fn parse(mut args: impl Iterator<Item = OsString>) -> Result<Args> {
    let mut out = Args::default();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--home") => match args.next() {
                Some(home) => out.home = Some(PathBuf::from(home)),
                None => bail!("--home needs a directory"),
            },
            Some("--version") => {
                println!("fbuild-coordinator {}", fbuild_core::version::BUILD_VERSION);
                std::process::exit(0);
            }
            _ => bail!(
                "unexpected argument {arg:?}; usage: fbuild-coordinator [--home DIR] \
                 (normally started by fbuild clients, see `fbuild daemon start`)"
            ),
        }
    }
    Ok(out)
}
