//! Boards as data: `data/<platform>.json`, embedded at build time. Adding a
//! board is adding an entry there.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Upload {
    pub protocol: String,
    pub speed: u32,
    #[serde(default)]
    pub touch_1200bps: bool,
    #[serde(default)]
    pub wait_for_upload_port: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Board {
    #[serde(skip)]
    pub id: String,
    pub name: String,
    pub mcu: String,
    pub f_cpu: String,
    /// `ARDUINO_<board_define>` is defined for the sketch.
    pub board_define: String,
    /// The Arduino core's `variants/<variant>` folder.
    pub variant: String,
    /// Program memory available to the sketch, bytes.
    pub flash: u64,
    /// RAM, bytes.
    pub ram: u64,
    pub upload: Upload,
    /// USB (VID, PID) pairs of the board, hex strings.
    #[serde(default)]
    pub usb_ids: Vec<(String, String)>,
    #[serde(default)]
    pub extra_flags: Vec<String>,
    /// Extra linker flags (the Mega links with `--relax`).
    #[serde(default)]
    pub link_flags: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolNames {
    pub cc: String,
    pub cxx: String,
    pub ar: String,
    pub objcopy: String,
    pub size: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformData {
    pub name: String,
    pub description: String,
    pub toolchain: ToolNames,
    pub frameworks: Vec<String>,
    pub boards: BTreeMap<String, Board>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

const SOURCES: &[&str] = &[include_str!("../data/atmelavr.json")];

fn all() -> &'static [PlatformData] {
    static ALL: OnceLock<Vec<PlatformData>> = OnceLock::new();
    ALL.get_or_init(|| {
        SOURCES
            .iter()
            .map(|text| {
                let mut p: PlatformData =
                    serde_json::from_str(text).expect("platform data in platforms/data is valid");
                for (id, board) in p.boards.iter_mut() {
                    board.id = id.clone();
                }
                p
            })
            .collect()
    })
}

/// The data of a platform with boards (`native` has none).
pub fn platform(name: &str) -> Option<&'static PlatformData> {
    all().iter().find(|p| p.name == name)
}

/// A board of `platform` by id or alias; an unknown id lists close matches.
pub fn board(platform_name: &str, id: &str) -> Result<&'static Board, String> {
    let p = platform(platform_name)
        .ok_or_else(|| format!("platform {platform_name:?} has no boards"))?;
    let id = p.aliases.get(id).map(String::as_str).unwrap_or(id);
    if let Some(b) = p.boards.get(id) {
        return Ok(b);
    }
    let names: Vec<&str> = p
        .boards
        .keys()
        .chain(p.aliases.keys())
        .map(String::as_str)
        .collect();
    let mut close: Vec<(usize, &str)> = names
        .iter()
        .map(|n| (distance(&id.to_lowercase(), n), *n))
        .filter(|(d, n)| *d <= 3 || n.contains(&id.to_lowercase()) || id.contains(n))
        .collect();
    close.sort();
    let suggestion = if close.is_empty() {
        format!("known boards: {}", names.join(", "))
    } else {
        let list: Vec<&str> = close.iter().map(|(_, n)| *n).collect();
        format!("did you mean {}?", list.join(", "))
    };
    Err(format!(
        "unknown board {id:?} for platform {platform_name}; {suggestion}"
    ))
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boards_load_and_aliases_resolve() {
        let uno = board("atmelavr", "uno").unwrap();
        assert_eq!(
            (uno.mcu.as_str(), uno.flash, uno.ram),
            ("atmega328p", 32256, 2048)
        );
        assert_eq!(board("atmelavr", "nano").unwrap().id, "nanoatmega328new");
        assert_eq!(
            board("atmelavr", "megaatmega2560").unwrap().upload.protocol,
            "wiring"
        );
        assert!(board("atmelavr", "leonardo").unwrap().upload.touch_1200bps);
    }

    #[test]
    fn unknown_board_suggests_close_ones() {
        let e = board("atmelavr", "unoo").unwrap_err();
        assert!(e.contains("did you mean uno"), "{e}");
        let e = board("atmelavr", "mega").map(|b| b.id.clone()).unwrap();
        assert_eq!(e, "megaatmega2560");
        let e = board("atmelavr", "zzzzzzzzzz").unwrap_err();
        assert!(e.contains("known boards:"), "{e}");
    }
}
