//! `fbuild cache stats [--json] | zero | clear`: the compile cache's
//! figures, as ccache's `-s`, `-z` and `-C` give them: hits, misses and
//! steps it could not take, for compiles and for links and archives, its
//! size and where it is (the coordinator reads them from the cache it
//! runs: zccache's daemon, or sccache's server with FBUILD_CACHE=sccache).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use fbuild_client::Client;
use fbuild_core::cache_figures::{CacheAction, CacheFigures, Counts};

#[derive(Subcommand)]
pub enum CacheCmd {
    /// Hits, misses and size since the cache started or was zeroed.
    Stats {
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Count from zero from now on (the entries stay).
    Zero,
    /// Remove every entry of the cache (and zero the counts).
    Clear,
}

pub fn run(cmd: CacheCmd) -> Result<ExitCode> {
    let client = Client::from_env()?;
    let (action, json) = match cmd {
        CacheCmd::Stats { json } => (CacheAction::Stats, json),
        CacheCmd::Zero => (CacheAction::Zero, false),
        CacheCmd::Clear => (CacheAction::Clear, false),
    };
    let figures = client
        .cache(action)
        .context("asking the coordinator for the cache's figures")?;
    match action {
        _ if json => println!("{}", serde_json::to_string_pretty(&figures)?),
        CacheAction::Stats => print!("{}", table(&figures)),
        CacheAction::Zero => println!("{}: counts zeroed", figures.cache),
        CacheAction::Clear => println!("{}: cleared ({})", figures.cache, figures.dir),
    }
    Ok(ExitCode::SUCCESS)
}

/// The figures as lines for a person.
fn table(f: &CacheFigures) -> String {
    if f.cache == "none" {
        return "no compile cache (FBUILD_CACHE=none)\n".into();
    }
    let since = match (f.running, f.zeroed) {
        (false, _) => "its daemon is not running: nothing counted".to_string(),
        (true, true) => format!("since `fbuild cache zero` {}", ago(f.counting_secs)),
        (true, false) => format!("since its daemon started {}", ago(f.counting_secs)),
    };
    let mut out = format!("cache       {} ({since})\n", f.cache);
    out.push_str(&format!("directory   {}\n", f.dir));
    out.push_str(&format!("compiles    {}\n", counts(f.compiles)));
    if f.cache == "zccache" {
        out.push_str(&format!("links       {}\n", counts(f.links)));
        out.push_str(&format!(
            "size        {} in {} entries\n",
            size(f.size_bytes),
            f.entries
        ));
    }
    for (label, store) in [
        ("link store", &f.link_store),
        ("libraries ", &f.library_store),
    ] {
        if f.cache != "sccache" || store.entries > 0 {
            out.push_str(&format!(
                "{label}  {} in {} entries ({})\n",
                size(store.size_bytes),
                store.entries,
                store.dir
            ));
        }
    }
    out
}

/// `26 hits, 0 misses, 0 not cacheable (100.0% hits)`.
pub(crate) fn counts(c: Counts) -> String {
    let asked = c.hits + c.misses;
    let rate = match asked {
        0 => String::new(),
        n => format!(" ({:.1}% hits)", c.hits as f64 * 100.0 / n as f64),
    };
    format!(
        "{} hits, {} misses, {} not cacheable{rate}",
        c.hits, c.misses, c.non_cacheable
    )
}

fn ago(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
