//! Which board of a core an environment builds for, and with which
//! properties: the FQBN checked against the core, a board that defines
//! nothing to build with named as such, the referenced core of another
//! vendor, `board_build.*`/`board_upload.*` and the builders' compat rules
//! on top; the core's programmers under `programmers.<id>.*` (an upload
//! through one, `upload_protocol`, is planned from them).

use anyhow::{Context, Result, bail};
use fbuild_platforms::arduino::{ArduinoPlatform, BoardId, Properties};

use crate::project::EnvConfig;

/// Finds the platform of another vendor (same architecture) that a board
/// references (`build.core=vendor:core`); `None`: not available.
pub(crate) type FindReferenced<'a> = dyn Fn(&str) -> Result<Option<ArduinoPlatform>> + 'a;

/// The properties a board builds with: the referenced platform's
/// platform.txt when the board's core lives in another vendor's package
/// (the spec: "platform.txt settings are inherited from the referenced
/// core platform"), this platform's over it, the board (menus applied),
/// `board_build.*`/`board_upload.*`, the builders' compat rules. Returns the
/// referenced platform too.
pub(crate) fn board_props(
    env: &EnvConfig,
    platform: &ArduinoPlatform,
    board_text: &str,
    find_referenced: &FindReferenced,
) -> Result<(Properties, Option<ArduinoPlatform>)> {
    let id = BoardId::parse(board_text).map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))?;
    let fqbn = id.fqbn();
    if (fqbn.vendor.as_str(), fqbn.arch.as_str())
        != (platform.vendor.as_str(), platform.arch.as_str())
    {
        bail!(
            "[env:{}]: board {board_text} belongs to the core {}:{}, but platform {} builds with {}:{}",
            env.name,
            fqbn.vendor,
            fqbn.arch,
            env.platform,
            platform.vendor,
            platform.arch
        );
    }
    let board = platform
        .resolve_board(fqbn)
        .map_err(|e| anyhow::anyhow!("[env:{}]: {e}", env.name))?;
    let referenced = match board
        .props
        .get("build.core")
        .and_then(|c| c.split_once(':'))
        .filter(|(vendor, _)| *vendor != platform.vendor)
    {
        None => None,
        Some((vendor, _)) => Some(find_referenced(vendor)?.with_context(|| {
            format!(
                "[env:{}]: board {board_text} uses the core of the package {vendor:?} \
                 (build.core={}), which is not installed beside {}",
                env.name,
                board.props.get("build.core").unwrap_or_default(),
                platform.dir.display()
            )
        })?),
    };
    let mut props = referenced
        .as_ref()
        .map(|r| r.platform.clone())
        .unwrap_or_default();
    props.merge(&platform.platform);
    props.merge(&board.props);
    let mut overrides = Properties::default();
    for (k, v) in &env.board_overrides {
        overrides.set(k.clone(), v.clone());
    }
    props.merge(&overrides);
    if !env.platform.is_native() && props.get("build.core").is_none_or(str::is_empty) {
        // arduino:samd:tian_cons, the Tian's MIPS console port: a name and
        // USB ids, nothing to build with.
        let name = props.get("name").unwrap_or(board_text);
        let hidden = match props.get("hide") {
            Some(_) => " (the core hides it: an entry for a port, not a board to build for)",
            None => "",
        };
        bail!(
            "[env:{}]: board {board_text} ({name}) defines no build.core in {}: the core \
             builds nothing for it{hidden}; pick another board of the core",
            env.name,
            platform.dir.join("boards.txt").display()
        );
    }
    platform.apply_compat(&mut props);
    // The referenced core's programmers, then this one's (later wins).
    for programmers in referenced
        .iter()
        .map(|r| &r.programmers)
        .chain([&platform.programmers])
    {
        for key in programmers.keys() {
            let value = programmers.get(key).unwrap_or_default().to_string();
            props.set(format!("programmers.{key}"), value);
        }
    }
    Ok((props, referenced))
}
