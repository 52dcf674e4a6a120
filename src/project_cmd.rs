//! `fbuild project init` (and `fbuild init`), PlatformIO's `pio project
//! init`: a project folder as PlatformIO lays it out (`src/`, `include/`,
//! `lib/`, `test/`, a `.gitignore`) with an `[env:<board>]` per `-b` in
//! `platformio.ini`; run again with another board, it adds that board's
//! section and keeps the rest of the file as it was.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use fbuild_platforms::arduino::{BoardId, close, pio_board_ids, pio_platform_of_arch};

#[derive(Subcommand)]
pub enum ProjectAction {
    /// Make (or add boards to) a project folder.
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    /// The project folder (made if missing).
    #[arg(short = 'd', long = "project-dir", default_value = ".")]
    project_dir: PathBuf,
    /// A board (PlatformIO's id, `native` for this computer); again for
    /// more. Each is an `[env:<id>]`.
    #[arg(short = 'b', long = "board")]
    boards: Vec<String>,
    /// `key = value` for each new environment (`-O "monitor_speed = 115200"`).
    #[arg(short = 'O', long = "project-option")]
    options: Vec<String>,
}

pub fn run(action: ProjectAction) -> Result<ExitCode> {
    match action {
        ProjectAction::Init(args) => init(args),
    }
}

pub fn init(args: InitArgs) -> Result<ExitCode> {
    let dir = &args.project_dir;
    let mut sections = Vec::new();
    for board in &args.boards {
        sections.push((board.clone(), section(board, &args.options)?));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (folder, readme) in FOLDERS {
        let path = dir.join(folder);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        if let Some(text) = readme {
            write_new(&path.join("README"), text)?;
        }
    }
    write_new(&dir.join(".gitignore"), ".fbuild/\n.pio/\n")?;
    let ini = dir.join("platformio.ini");
    let mut text = match std::fs::read_to_string(&ini) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_string(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", ini.display())),
    };
    // The file as PlatformIO reads it: a board already there (its own
    // section, or another section's `board =`) is not added twice.
    let parsed = fbuild_builder::project::ini::parse(&text, &ini)?;
    let has = |board: &str| {
        parsed.sections.iter().any(|s| {
            s.name == format!("env:{board}")
                || (s.name.starts_with("env:")
                    && s.get("board").is_some_and(|e| e.value.trim() == board))
        })
    };
    let mut added = Vec::new();
    for (board, body) in sections {
        if has(&board) {
            eprintln!(
                "fbuild: {} already has a [env:…] for {board}",
                ini.display()
            );
            continue;
        }
        if !text.ends_with("\n\n") && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&body);
        added.push(board);
    }
    write_whole(&ini, &text)?;
    let envs = match added.is_empty() {
        true => String::new(),
        false => format!(" with [env:{}]", added.join("], [env:")),
    };
    println!("fbuild: project in {}{envs}", dir.display());
    if let Some(first) = added.first() {
        println!("build it: fbuild run -d {} -e {first}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

const HEADER: &str = "; PlatformIO Project Configuration File (read by fbuild as by PlatformIO)\n\
                      ;   https://docs.platformio.org/page/projectconf.html\n";

/// Folders of a new project, with the README PlatformIO puts in some.
const FOLDERS: &[(&str, Option<&str>)] = &[
    ("src", None),
    (
        "include",
        Some("Header files of the project, on every compile's include path.\n"),
    ),
    (
        "lib",
        Some(
            "Private libraries of the project: one folder each (lib/Name/src/…), found by their #include.\n",
        ),
    ),
    (
        "test",
        Some("Unit tests: one folder per suite (test/test_name/…), run by `fbuild test`.\n"),
    ),
];

/// The `[env:<board>]` section of `board`; an unknown board is named with
/// the close ones.
fn section(board: &str, options: &[String]) -> Result<String> {
    let mut body = format!("[env:{board}]\n");
    if fbuild_core::platform::Platform::parse(board).is_native() {
        body.push_str("platform = native\n");
    } else {
        if !pio_board_ids().any(|(id, _)| id == board) {
            let near = close(board, pio_board_ids().map(|(id, _)| id));
            bail!(
                "unknown board {board:?}{}: `fbuild boards` lists them (or -b native)",
                match near.is_empty() {
                    true => String::new(),
                    false => format!(" (did you mean {}?)", near.join(", ")),
                }
            );
        }
        let arch = BoardId::parse(board)?.fqbn().arch.clone();
        match pio_platform_of_arch(&arch) {
            // fbuild builds the AVR core by PlatformIO's name.
            Some(p) if fbuild_platforms::platform(p).is_some() => {
                body.push_str(&format!("platform = {p}\n"))
            }
            // Others from their Arduino package index.
            _ => body
                .push_str("platform = https://downloads.arduino.cc/packages/package_index.json\n"),
        }
        body.push_str(&format!("board = {board}\nframework = arduino\n"));
    }
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            bail!("-O {option:?}: write it as key = value (monitor_speed = 115200)");
        };
        body.push_str(&format!("{} = {}\n", key.trim(), value.trim()));
    }
    Ok(body)
}

/// Writes `text` to `path` whole: beside it, then renamed over it (a
/// failed write leaves the old file as it was). A symbolic link is
/// followed (the file it names is the one written; the link stays), and
/// the file keeps its permissions.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let target = match std::fs::read_link(path) {
        Ok(to) => path.parent().unwrap_or(Path::new(".")).join(to),
        Err(_) => path.to_path_buf(),
    };
    let staged = target.with_file_name(".platformio.ini.fbuild-new");
    std::fs::write(&staged, text).with_context(|| format!("writing {}", staged.display()))?;
    if let Ok(meta) = std::fs::metadata(&target) {
        let _ = std::fs::set_permissions(&staged, meta.permissions());
    }
    std::fs::rename(&staged, &target).with_context(|| format!("writing {}", target.display()))
}

/// Writes `path` unless it exists (a user's file is never replaced).
fn write_new(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
