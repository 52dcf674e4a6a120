//! The properties fbuild sets for a build, as the Arduino builders do
//! (arduino-cli's `GetBuildProperties` and builder), in one place: the
//! platform's, the board's, the tool's, the build's own. Recipes use them
//! as `{build.fqbn}`, `{runtime.os}`, `{extra.time.utc}`, ….

use std::path::Path;

use fbuild_platforms::arduino::{Fqbn, OS_SUFFIX, Properties, path_marker};

/// Value of `runtime.ide.version` (the `ARDUINO` define): 1.6.7, what
/// arduino-builder passes by default, so objects match its builds.
pub(crate) const IDE_VERSION: &str = "10607";

/// What a build knows of itself, for [`Recipes::set_runtime`].
pub struct RuntimeFacts<'a> {
    /// The board's platform folder (`<hardware>/<vendor>/<arch>`).
    pub platform_dir: &'a Path,
    /// The platform of the board's core when it is another vendor's.
    pub core_platform_dir: Option<&'a Path>,
    /// The board (a PlatformIO id stands for its FQBN).
    pub fqbn: &'a Fqbn,
    pub out_dir: &'a Path,
    /// The project folder, the sketch folder's counterpart, when known.
    pub source_dir: Option<&'a Path>,
    /// The toolchain the coordinator checked (wins over the core's
    /// `compiler.path`); `None`: the core's own.
    pub compiler_dir: Option<&'a Path>,
    /// The warning level (`none`, `default`, `more`, `all`): the core's
    /// `compiler.warning_flags.<level>` becomes `compiler.warning_flags`,
    /// as arduino-cli's `--warnings` does.
    pub warnings: &'a str,
}

/// Sets every property the Arduino builders set (arduino-cli's
/// `GetBuildProperties` and builder) from `facts`. The platform:
/// `runtime.platform.path` (the board's platform; the core's with
/// `runtime.use_core_platform_path_for_runtime_platform_path=true`),
/// `runtime.hardware.path` (its parent), `build.board.platform.path`,
/// `build.core.platform.path`, `build.system.path` (the core platform's
/// `system/`). The board: `build.arch` (upper case), `build.fqbn`,
/// `build.board` (the board's, else `<ARCH>_<BOARD ID>`: the
/// `ARDUINO_<board>` define). The tool: `runtime.ide.version` and
/// `ide_version` ([`IDE_VERSION`]), `runtime.ide.path` (fbuild's folder,
/// unless set), `runtime.os` (`linux`, `macosx` or `windows`),
/// `software` (`ARDUINO`, unless set), `build.library_discovery_phase`
/// (`0`: a real compile), `extra.time.*` ([`set_time`]). The build:
/// `compiler.warning_flags` (the level's, when the core has it),
/// `build.path`, `build.project_name` (`firmware`, the outputs fbuild
/// promises), `build.source.path` and `sketch_path` (when known),
/// `archive_file`, `archive_file_path` (unless the core's),
/// `compiler.path` (the checked toolchain's), `build.extra_flags`
/// (empty unless set: some boards leave it out). Not set: the
/// deprecated alias `tools.avrdude.path`, which would hide a core's own.
pub fn set(p: &mut Properties, facts: &RuntimeFacts) {
    let core_platform = facts.core_platform_dir.unwrap_or(facts.platform_dir);
    p.set_path("build.board.platform.path", facts.platform_dir);
    p.set_path("build.core.platform.path", core_platform);
    p.set_path("build.system.path", &core_platform.join("system"));
    let use_core = p.get("runtime.use_core_platform_path_for_runtime_platform_path");
    let runtime_platform = match use_core.map(str::trim) {
        Some("true") => core_platform,
        _ => facts.platform_dir,
    };
    p.set_path("runtime.platform.path", runtime_platform);
    if let Some(hw) = runtime_platform.parent() {
        p.set_path("runtime.hardware.path", hw);
    }
    let arch = facts.fqbn.arch.to_ascii_uppercase();
    p.set("build.fqbn", facts.fqbn.to_string());
    if p.get("build.board").is_none_or(|b| b.is_empty()) {
        let board = format!("{arch}_{}", facts.fqbn.board).to_ascii_uppercase();
        p.set("build.board", board);
    }
    p.set("build.arch", arch);
    set_tool(p);
    set_time(p, build_time(facts.out_dir));
    set_build(p, facts);
}

/// The Arduino tools' own properties (see [`set`]).
fn set_tool(p: &mut Properties) {
    p.set("runtime.ide.version", IDE_VERSION);
    p.set("ide_version", IDE_VERSION);
    if !p.contains("runtime.ide.path") {
        let exe = std::env::current_exe().unwrap_or_default();
        p.set_path("runtime.ide.path", exe.parent().unwrap_or(Path::new("")));
    }
    p.set("runtime.os", OS_SUFFIX);
    if !p.contains("software") {
        p.set("software", "ARDUINO");
    }
    p.set("build.library_discovery_phase", "0");
}

/// The time this build folder was first built in (kept in it as
/// `fbuild-time`; a clean build takes a new one). arduino-cli stamps every
/// build with its own time, so a core whose recipes use `{extra.time.*}`
/// compiles everything again every time; here an unchanged project stays
/// up to date and its objects come from the cache.
fn build_time(out_dir: &Path) -> std::time::SystemTime {
    let file = out_dir.join("fbuild-time");
    let kept = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match kept {
        Some(secs) => std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        None => {
            let now = std::time::SystemTime::now();
            let secs = now
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            // Best effort: a folder that cannot keep it (or is not made
            // yet) takes the time again next build.
            let _ = std::fs::write(&file, secs.to_string());
            now
        }
    }
}

/// `extra.time.utc` (seconds since 1970), `.local` (the same in local
/// time), `.zone` (the zone's offset without daylight saving, seconds),
/// `.dst` (daylight saving's offset). fbuild builds in UTC: the builder has
/// no time zone database, and a firmware does not depend on where it was
/// built.
fn set_time(p: &mut Properties, now: std::time::SystemTime) {
    let utc = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    p.set("extra.time.utc", utc.to_string());
    p.set("extra.time.local", utc.to_string());
    p.set("extra.time.zone", "0");
    p.set("extra.time.dst", "0");
}

/// This build's own properties (see [`set`]).
fn set_build(p: &mut Properties, facts: &RuntimeFacts) {
    let out_dir = facts.out_dir;
    let level = format!("compiler.warning_flags.{}", facts.warnings);
    if let Some(flags) = p.get(&level).map(str::to_string) {
        p.set("compiler.warning_flags", flags);
    }
    p.set_path("build.path", out_dir);
    p.set("build.project_name", "firmware");
    if let Some(dir) = facts.source_dir {
        p.set_path("build.source.path", dir);
        p.set_path("sketch_path", dir);
    }
    p.set("archive_file", "core.a");
    if !p.contains("archive_file_path") {
        p.set_path("archive_file_path", &out_dir.join("core.a"));
    }
    if let Some(dir) = facts.compiler_dir {
        p.set("compiler.path", format!("{}/", path(dir)));
    }
    if !p.contains("build.extra_flags") {
        p.set("build.extra_flags", "");
    }
}

/// `p` as a recipe value: a marker, put back byte for byte in the command.
fn path(p: &Path) -> String {
    path_marker(p.as_os_str())
}
