//! What `platform =` (and `FBUILD_PLATFORM`) names, parsed once into a
//! type: the host (`native`), a PlatformIO platform with data of its own
//! (`atmelavr`), an Arduino core in a folder, a package index URL, a core
//! archive URL, or `vendor:arch[@version]` from `platform_index_urls`. The
//! only place that knows the word `native`; what the host's toolchain is
//! lives in the platforms' data like every other platform's.

use std::fmt;

/// A platform as the user wrote it, and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    text: String,
    kind: Kind,
}

/// What a `platform =` names. The checks that tell them apart run in one
/// order here (an archive URL is also a URL; a folder may contain `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The host, with its own compilers.
    Native,
    /// A PlatformIO platform name (`atmelavr`): known when the platforms'
    /// data has it.
    Named(String),
    /// `<URL of a core archive>` with `#sha256=<hex>`, or without it (then
    /// refused: fbuild installs only what it can verify).
    Archive { url: String, sha256: Option<String> },
    /// `https://…`, `http://…` or `file://…/x.json`: a package index.
    IndexUrl(String),
    /// `<folder>` or `file://<folder>`: an Arduino core on disk, relative
    /// to the project.
    Folder(String),
    /// `vendor:arch[@version]`, looked up in `platform_index_urls`.
    IndexedCore {
        vendor_arch: String,
        version: Option<String>,
    },
}

impl Platform {
    /// The word for the host.
    pub const NATIVE: &'static str = "native";

    pub fn parse(text: &str) -> Platform {
        Platform {
            text: text.to_string(),
            kind: Kind::of(text.trim()),
        }
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    pub fn is_native(&self) -> bool {
        self.kind == Kind::Native
    }

    /// As the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Kind {
    fn of(text: &str) -> Kind {
        if text == Platform::NATIVE {
            return Kind::Native;
        }
        let (url, fragment) = match text.split_once('#') {
            Some((url, fragment)) => (url, Some(fragment)),
            None => (text, None),
        };
        if is_archive(url) {
            return Kind::Archive {
                url: url.to_string(),
                sha256: fragment
                    .and_then(|f| f.strip_prefix("sha256="))
                    .map(str::to_string),
            };
        }
        if text.starts_with("https://")
            || text.starts_with("http://")
            || (text.starts_with("file://") && text.ends_with(".json"))
        {
            return Kind::IndexUrl(text.to_string());
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        // `C:\cores\avr` is a folder, not `vendor:arch`.
        if path.contains(['/', '\\']) || path.starts_with('.') {
            return Kind::Folder(path.to_string());
        }
        let (name, version) = match text.split_once('@') {
            Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
            None => (text, None),
        };
        if name.contains(':') {
            return Kind::IndexedCore {
                vendor_arch: name.to_string(),
                version,
            };
        }
        Kind::Named(text.to_string())
    }
}

/// A URL of a `.tar.gz`/`.tgz`/`.tar.bz2`.
fn is_archive(url: &str) -> bool {
    url.contains("://")
        && [".tar.gz", ".tgz", ".tar.bz2"]
            .iter()
            .any(|e| url.ends_with(e))
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<str> for Platform {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Platform {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_told_apart_in_one_place() {
        let kind = |t: &str| Platform::parse(t).kind;
        assert_eq!(kind("native"), Kind::Native);
        assert!(Platform::parse(" native ").is_native());
        assert_eq!(kind("atmelavr"), Kind::Named("atmelavr".into()));
        assert_eq!(
            kind("https://x/core.tar.bz2#sha256=ab"),
            Kind::Archive {
                url: "https://x/core.tar.bz2".into(),
                sha256: Some("ab".into())
            }
        );
        assert_eq!(
            kind("http://x/core.tgz"),
            Kind::Archive {
                url: "http://x/core.tgz".into(),
                sha256: None
            }
        );
        assert_eq!(
            kind("https://x/package_index.json"),
            Kind::IndexUrl("https://x/package_index.json".into())
        );
        assert_eq!(
            kind("file:///srv/index.json"),
            Kind::IndexUrl("file:///srv/index.json".into())
        );
        assert_eq!(
            kind("file:///srv/hw/vendor/avr"),
            Kind::Folder("/srv/hw/vendor/avr".into())
        );
        assert_eq!(kind("./cores/avr"), Kind::Folder("./cores/avr".into()));
        assert_eq!(kind("cores/x:y"), Kind::Folder("cores/x:y".into()));
        assert_eq!(
            kind(r"C:\hw\vendor\avr"),
            Kind::Folder(r"C:\hw\vendor\avr".into())
        );
        assert_eq!(
            kind("arduino:samd@1.8.14"),
            Kind::IndexedCore {
                vendor_arch: "arduino:samd".into(),
                version: Some("1.8.14".into())
            }
        );
        assert_eq!(Platform::parse("atmelavr"), "atmelavr");
        assert_eq!(Platform::parse("atmelavr").to_string(), "atmelavr");
    }
}
