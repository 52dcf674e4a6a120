//! Paths as keys of the build's JSON files (`fbuild-state.json`,
//! `fbuild-commands.json`): text as JSON needs it, byte for byte as the OS
//! has it. A path that is UTF-8 is itself; one that is not (a folder named
//! with a `\xff` byte), or that holds the marker's own opening character
//! (U+0001), is held as a path marker (`fbuild_platforms`'s
//! `path_marker`), which reads back to the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fbuild_platforms::arduino::{MARK_OPEN as MARK, path_marker, resolve};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn encode(p: &Path) -> String {
    match p.to_str() {
        Some(s) if !s.contains(MARK) => s.to_string(),
        _ => path_marker(p.as_os_str()),
    }
}

fn decode(s: &str) -> PathBuf {
    if s.contains(MARK) {
        PathBuf::from(resolve(s))
    } else {
        PathBuf::from(s)
    }
}

/// `#[serde(with = "path_keys::map")]` for `BTreeMap<PathBuf, V>`.
pub mod map {
    use super::*;

    pub fn serialize<S: Serializer, V: Serialize>(
        m: &BTreeMap<PathBuf, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, v)| (encode(k), v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<PathBuf, V>, D::Error> {
        let m: BTreeMap<String, V> = Deserialize::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (decode(&k), v)).collect())
    }
}

/// `#[serde(with = "path_keys::set")]` for `Option<BTreeSet<PathBuf>>`.
pub mod set {
    use super::*;

    pub fn serialize<S: Serializer>(
        m: &Option<BTreeSet<PathBuf>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        m.as_ref()
            .map(|set| set.iter().map(|p| encode(p)).collect::<Vec<_>>())
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<BTreeSet<PathBuf>>, D::Error> {
        let m: Option<Vec<String>> = Deserialize::deserialize(d)?;
        Ok(m.map(|v| v.iter().map(|s| decode(s)).collect()))
    }
}

// Non-UTF-8 names are a Unix fact.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_through_json_byte_for_byte() {
        use std::os::unix::ffi::OsStrExt;
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct S {
            #[serde(with = "map")]
            m: BTreeMap<PathBuf, u32>,
        }
        let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/a \"b\" {c} \xff"));
        let marked = PathBuf::from("/m/\u{1}41\u{2}");
        let s = S {
            m: BTreeMap::from([(odd, 1), (PathBuf::from("/plain"), 2), (marked, 3)]),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"/plain\""), "{text}");
        assert_eq!(serde_json::from_str::<S>(&text).unwrap(), s);
    }
}
