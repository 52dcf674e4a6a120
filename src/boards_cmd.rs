//! `fbuild boards [FILTER…] [--json-output]` (PlatformIO's `pio boards`):
//! the PlatformIO board ids fbuild knows, each with its FQBN and
//! PlatformIO platform, and its MCU, clock, flash, RAM and name from the
//! core's `boards.txt` when the core is on this machine (the system's, or
//! one fbuild installed): a listing downloads nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use fbuild_core::Settings;
use fbuild_platforms::arduino::{ArduinoPlatform, Fqbn, pio_board_ids, pio_platform_of_arch};
use serde_json::{Value, json};

#[derive(Args)]
pub struct BoardsArgs {
    /// Words a board's id, name, MCU or platform must contain (any case).
    filters: Vec<String>,
    /// As JSON (PlatformIO's fields: id, name, platform, mcu, fcpu, rom,
    /// ram, frameworks; and fbuild's fqbn).
    #[arg(long)]
    json_output: bool,
}

pub fn run(args: BoardsArgs) -> Result<ExitCode> {
    let home = Settings::from_env()
        .ok()
        .map(|s| s.home.root().to_path_buf());
    let mut cores: BTreeMap<(String, String), Option<ArduinoPlatform>> = BTreeMap::new();
    let mut boards = Vec::new();
    for (id, fqbn_text) in pio_board_ids() {
        let Ok(fqbn) = Fqbn::parse(fqbn_text) else {
            continue;
        };
        let core = cores
            .entry((fqbn.vendor.clone(), fqbn.arch.clone()))
            .or_insert_with(|| local_core(&fqbn.vendor, &fqbn.arch, home.as_ref()));
        let board = describe(id, &fqbn, fqbn_text, core.as_ref());
        let text = board.to_string().to_lowercase();
        if args
            .filters
            .iter()
            .all(|f| text.contains(&f.to_lowercase()))
        {
            boards.push(board);
        }
    }
    if args.json_output {
        println!("{}", Value::from(boards));
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", table(&boards));
    Ok(ExitCode::SUCCESS)
}

/// One board as PlatformIO's JSON has it (null where the core is not here).
fn describe(id: &str, fqbn: &Fqbn, fqbn_text: &str, core: Option<&ArduinoPlatform>) -> Value {
    let props = core
        .and_then(|c| c.resolve_board(fqbn).ok())
        .map(|b| b.props);
    let get = |key: &str| props.as_ref().and_then(|p| p.get(key)).map(str::to_string);
    let number = |key: &str| {
        get(key).and_then(|v| {
            v.trim()
                .trim_end_matches(['L', 'l', 'U', 'u'])
                .parse::<u64>()
                .ok()
        })
    };
    json!({
        "id": id,
        "name": get("name"),
        "platform": pio_platform_of_arch(&fqbn.arch),
        "fqbn": fqbn_text,
        "mcu": get("build.mcu"),
        "fcpu": number("build.f_cpu"),
        "rom": number("upload.maximum_size"),
        "ram": number("upload.maximum_data_size"),
        "frameworks": ["arduino"],
    })
}

/// The core `vendor:arch` on this machine: a platform's system core, else
/// the newest fbuild installed under `FBUILD_HOME/packages`.
fn local_core(vendor: &str, arch: &str, home: Option<&PathBuf>) -> Option<ArduinoPlatform> {
    let wanted = format!("{vendor}:{arch}");
    let system = fbuild_platforms::platform_names()
        .into_iter()
        .filter_map(fbuild_platforms::platform)
        .filter(|p| p.core.as_deref() == Some(wanted.as_str()))
        .filter_map(|p| p.system_core.as_ref())
        .map(|s| PathBuf::from(&s.dir))
        .find(|d| d.join("boards.txt").is_file());
    let installed = || {
        let dir = home?
            .join("packages")
            .join(vendor)
            .join("hardware")
            .join(arch);
        let mut versions: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|d| d.join("boards.txt").is_file())
            .collect();
        versions.sort();
        versions.pop()
    };
    let dir = system.or_else(installed)?;
    ArduinoPlatform::load(&dir, vendor, arch).ok()
}

/// PlatformIO's table, a section per platform.
fn table(boards: &[Value]) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut by_platform: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for b in boards {
        by_platform.entry(text(&b["platform"])).or_default().push(b);
    }
    let mut out = String::new();
    for (platform, list) in by_platform {
        out.push_str(&format!("\nPlatform: {platform}\n{}\n", "=".repeat(72)));
        out.push_str(&format!(
            "{:20} {:12} {:>9} {:>9} {:>7}  Name\n{}\n",
            "ID",
            "MCU",
            "Frequency",
            "Flash",
            "RAM",
            "-".repeat(72)
        ));
        for b in list {
            let size = |v: &Value| match v.as_u64() {
                Some(n) if n % 1024 == 0 => format!("{}KB", n / 1024),
                Some(n) => format!("{:.2}KB", n as f64 / 1024.0),
                None => "-".into(),
            };
            let mhz = match b["fcpu"].as_u64() {
                Some(hz) => format!("{}MHz", hz / 1_000_000),
                None => "-".into(),
            };
            out.push_str(&format!(
                "{:20} {:12} {mhz:>9} {:>9} {:>7}  {}\n",
                text(&b["id"]),
                text(&b["mcu"]).to_uppercase(),
                size(&b["rom"]),
                size(&b["ram"]),
                b["name"].as_str().unwrap_or("(core not installed)"),
            ));
        }
    }
    if boards.is_empty() {
        out.push_str("no board matches\n");
    }
    out
}
