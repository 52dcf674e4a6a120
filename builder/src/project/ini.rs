//! The INI dialect of `platformio.ini`: `[section]` headers, `key = value`
//! lines, values continued on indented lines, `;` and `#` comments (also
//! after a value, preceded by whitespace). Errors name file and line.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// Lines of a multi-line value are joined with `\n`.
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ini {
    pub file: PathBuf,
    pub sections: Vec<Section>,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// A problem in a config file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

pub fn parse(text: &str, file: &Path) -> Result<Ini, ConfigError> {
    let err = |line: usize, message: String| ConfigError {
        file: file.to_path_buf(),
        line: Some(line),
        message,
    };
    let mut sections: Vec<Section> = Vec::new();
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented {
            let Some(entry) = sections.last_mut().and_then(|s| s.entries.last_mut()) else {
                return Err(err(
                    n,
                    format!("indented line {trimmed:?} continues no value"),
                ));
            };
            let part = strip_comment(trimmed);
            if !part.is_empty() {
                if !entry.value.is_empty() {
                    entry.value.push('\n');
                }
                entry.value.push_str(part);
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']').or_else(|| {
                rest.find(']')
                    .filter(|p| strip_comment(&rest[p + 1..]).is_empty())
                    .map(|p| &rest[..p])
            }) else {
                return Err(err(
                    n,
                    format!("section header {trimmed:?} has no closing ']'"),
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(err(n, "empty section name".into()));
            }
            if !names.insert(name.to_string()) {
                return Err(err(n, format!("section [{name}] appears twice")));
            }
            sections.push(Section {
                name: name.to_string(),
                line: n,
                entries: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(err(
                n,
                format!("expected `key = value`, a [section] or a comment, found {trimmed:?}"),
            ));
        };
        let Some(section) = sections.last_mut() else {
            return Err(err(n, format!("`{}` is outside any [section]", key.trim())));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(err(n, "a value without a key".into()));
        }
        section.entries.push(Entry {
            key: key.to_string(),
            value: strip_comment(value.trim()).to_string(),
            line: n,
        });
    }
    Ok(Ini {
        file: file.to_path_buf(),
        sections,
    })
}

/// Drops a `;` comment that follows whitespace.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return value[..i].trim_end();
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> Result<Ini, ConfigError> {
        parse(text, Path::new("platformio.ini"))
    }

    #[test]
    fn sections_values_continuations_comments() {
        let ini = ini("; top\n[env]\nbuild_flags =\n    -DA=1 ; one\n    -DB\nframework = arduino ; inline\n\n[env:uno]\nboard = uno\n")
            .unwrap();
        let env = ini.section("env").unwrap();
        assert_eq!(env.get("build_flags").unwrap().value, "-DA=1\n-DB");
        assert_eq!(env.get("framework").unwrap().value, "arduino");
        assert_eq!(
            ini.section("env:uno").unwrap().get("board").unwrap().line,
            9
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = ini("[env:uno]\nboard = uno\nthis is not ini\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string()
                .starts_with("platformio.ini:3: expected `key = value`"),
            "{e}"
        );
        assert_eq!(ini("[env\n").unwrap_err().line, Some(1));
        assert_eq!(ini("board = uno\n").unwrap_err().line, Some(1));
        assert_eq!(ini("[a]\n[a]\n").unwrap_err().line, Some(2));
    }
}
