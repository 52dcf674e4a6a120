//! A board of a core, resolved: its `boards.txt` properties with one
//! option of every menu applied (the one the FQBN names, else the menu's
//! first option, as the Arduino IDE does), and `board =` names as users
//! write them: PlatformIO ids (a data table of FQBNs) or FQBNs.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{ArduinoPlatform, Fqbn, PlatformError, Properties};

/// PlatformIO board ids and the FQBN each stands for.
const PIO_BOARDS: &str = include_str!("../../data/pio-boards.json");

fn pio_boards() -> &'static BTreeMap<String, String> {
    static TABLE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(PIO_BOARDS).expect("data/pio-boards.json is valid (checked by a test)")
    })
}

/// Every PlatformIO board id fbuild knows, with its FQBN, by id.
pub fn pio_board_ids() -> impl Iterator<Item = (&'static str, &'static str)> {
    pio_boards()
        .iter()
        .map(|(id, fqbn)| (id.as_str(), fqbn.as_str()))
}

const PIO_PLATFORMS: &str = include_str!("../../data/pio-platforms.json");

/// PlatformIO's platform id for an Arduino architecture (`samd` →
/// `atmelsam`), from `data/pio-platforms.json`.
pub fn pio_platform_of_arch(arch: &str) -> Option<&'static str> {
    static TABLE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let all: BTreeMap<String, serde_json::Value> = serde_json::from_str(PIO_PLATFORMS)
            .expect("data/pio-platforms.json is valid (checked by a test)");
        all.into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .filter(|(k, _)| !k.starts_with('_'))
            .collect()
    });
    table.get(arch).map(String::as_str)
}

/// A `board =` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardId {
    /// A PlatformIO id and the FQBN it maps to.
    PlatformIo {
        id: String,
        fqbn: Fqbn,
    },
    Fqbn(Fqbn),
}

impl BoardId {
    pub fn parse(text: &str) -> Result<BoardId, PlatformError> {
        let text = text.trim();
        if Fqbn::looks_like(text) {
            return Fqbn::parse(text).map(BoardId::Fqbn);
        }
        match pio_boards().get(text) {
            Some(fqbn) => Ok(BoardId::PlatformIo {
                id: text.to_string(),
                fqbn: Fqbn::parse(fqbn)?,
            }),
            None => Err(PlatformError::UnknownBoard {
                board: text.to_string(),
                known: close(text, pio_boards().keys().map(String::as_str)),
            }),
        }
    }

    pub fn fqbn(&self) -> &Fqbn {
        match self {
            BoardId::PlatformIo { fqbn, .. } | BoardId::Fqbn(fqbn) => fqbn,
        }
    }
}

/// A board with its menus applied.
#[derive(Debug, Clone)]
pub struct ResolvedBoard {
    /// The FQBN with every menu's option spelled out.
    pub fqbn: Fqbn,
    /// `boards.txt`'s `<id>.*` keys (menus applied, `menu.*` removed).
    pub props: Properties,
}

impl ArduinoPlatform {
    /// The board `fqbn` names in this core.
    pub fn resolve_board(&self, fqbn: &Fqbn) -> Result<ResolvedBoard, PlatformError> {
        let ids = self.board_ids();
        if !ids.contains(&fqbn.board) {
            return Err(PlatformError::UnknownBoard {
                board: format!("{}:{}:{}", self.vendor, self.arch, fqbn.board),
                known: close(&fqbn.board, ids.iter().map(String::as_str)),
            });
        }
        let all = self.boards.subtree(&fqbn.board);
        let menus = self.boards.subtree("menu").first_level();
        let board_menus: Vec<String> = all
            .subtree("menu")
            .first_level()
            .into_iter()
            .filter(|m| menus.contains(m))
            .collect();
        for (menu, _) in &fqbn.options {
            if !board_menus.contains(menu) {
                return Err(PlatformError::UnknownMenu {
                    file: self.dir.join("boards.txt").into(),
                    board: fqbn.board.clone(),
                    menu: menu.clone(),
                    known: board_menus.clone(),
                });
            }
        }
        let mut props = all.without("menu");
        let mut chosen = Vec::new();
        for menu in &board_menus {
            let options = all.subtree(&format!("menu.{menu}"));
            let names = options.first_level();
            let option = match fqbn.options.iter().find(|(m, _)| m == menu) {
                Some((_, o)) if names.contains(o) => o.clone(),
                Some((_, o)) => {
                    return Err(PlatformError::UnknownOption {
                        file: self.dir.join("boards.txt").into(),
                        board: fqbn.board.clone(),
                        menu: menu.clone(),
                        option: o.clone(),
                        known: names,
                    });
                }
                None => match names.first() {
                    Some(first) => first.clone(),
                    None => continue,
                },
            };
            props.merge(&options.subtree(&option));
            chosen.push((menu.clone(), option));
        }
        Ok(ResolvedBoard {
            fqbn: Fqbn {
                vendor: self.vendor.clone(),
                arch: self.arch.clone(),
                board: fqbn.board.clone(),
                options: chosen,
            },
            props,
        })
    }
}

/// Up to five of `candidates` close to `query` (containing it, or within a
/// small edit distance), best first.
pub fn close<'a>(query: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let q = query.to_ascii_lowercase();
    let mut scored: Vec<(usize, String)> = candidates
        .filter_map(|c| {
            let l = c.to_ascii_lowercase();
            let d = if l.contains(&q) || q.contains(&l) {
                0
            } else {
                distance(&q, &l)
            };
            (d <= 3.max(q.len() / 3)).then(|| (d, c.to_string()))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, c)| c).collect()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
