//! OS strings on the wire. Paths, PATH, cwd, arguments and environment
//! values are bytes on Unix, not UTF-8: a directory named with a `\xff`
//! byte is legal, and a PATH carrying one must arrive intact or the real
//! tool is not found (seen: the shim exited 127 "no real cc on PATH" when
//! PATH travelled as a lossy `String`). So every such field is serialised
//! as a JSON string when it is valid UTF-8 (readable, the common case) and
//! as `{"bytes": [..]}` otherwise, and both forms read back exactly.
//!
//! Use with `#[serde(with = "crate::wire_os")]` on `OsString`/`PathBuf`
//! fields, `wire_os::opt` on `Option<…>` and `wire_os::pairs` on
//! environment lists.

use std::ffi::{OsStr, OsString};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Bytes { bytes: Vec<u8> },
}

fn to_repr(s: &OsStr) -> Repr {
    match s.to_str() {
        Some(text) => Repr::Text(text.to_string()),
        None => Repr::Bytes {
            bytes: s.as_encoded_bytes().to_vec(),
        },
    }
}

fn from_repr(r: Repr) -> OsString {
    match r {
        Repr::Text(t) => OsString::from(t),
        #[cfg(unix)]
        Repr::Bytes { bytes } => {
            use std::os::unix::ffi::OsStringExt;
            OsString::from_vec(bytes)
        }
        #[cfg(not(unix))]
        Repr::Bytes { bytes } => OsString::from(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

pub fn serialize<T: AsRef<OsStr>, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    to_repr(value.as_ref()).serialize(s)
}

pub fn deserialize<'de, T: From<OsString>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    Repr::deserialize(d).map(|r| T::from(from_repr(r)))
}

/// For `Option<OsString>` / `Option<PathBuf>`.
pub mod opt {
    use super::*;

    pub fn serialize<T: AsRef<OsStr>, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().map(|v| to_repr(v.as_ref())).serialize(s)
    }

    pub fn deserialize<'de, T: From<OsString>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<Repr>::deserialize(d).map(|r| r.map(|r| T::from(from_repr(r))))
    }
}

/// For environment lists, `Vec<(OsString, OsString)>`.
pub mod pairs {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &[(OsString, OsString)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .iter()
            .map(|(k, v)| (to_repr(k), to_repr(v)))
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(OsString, OsString)>, D::Error> {
        Vec::<(Repr, Repr)>::deserialize(d).map(|v| {
            v.into_iter()
                .map(|(k, v)| (from_repr(k), from_repr(v)))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super")]
        p: PathBuf,
        #[serde(with = "super::opt", default)]
        o: Option<PathBuf>,
    }

    #[test]
    fn utf8_is_a_plain_string() {
        let t = T {
            p: "/usr/bin".into(),
            o: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"p":"/usr/bin","o":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_round_trips_exactly() {
        use std::os::unix::ffi::OsStringExt;
        let raw = std::ffi::OsString::from_vec(b"/tmp/a\xffb".to_vec());
        let t = T {
            p: PathBuf::from(raw.clone()),
            o: Some(PathBuf::from(raw)),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("bytes"), "{json}");
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
    }
}
