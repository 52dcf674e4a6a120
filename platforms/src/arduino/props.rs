//! Arduino property files (`platform.txt`, `boards.txt`,
//! `programmers.txt`), read as the Arduino platform specification says:
//! `key=value` lines (both trimmed), `#` comments, a later key overrides
//! an earlier one, `key.linux`/`key.windows`/`key.macosx` override `key` on
//! that OS, and `{placeholder}` references to other keys, expanded
//! recursively. Every value remembers the file and line it came from, so
//! an error can name them.
//!
//! A recipe command ([`Properties::command`]) keeps a placeholder no
//! property defines as written, as arduino-cli does (it expands with
//! `ExpandPropsInString` and passes what is left on); a value fbuild needs
//! as such (a file name: [`Properties::expand_key`]) fails naming it.
//!
//! Paths fbuild sets (the build folder, the core's folders, a source file)
//! are held in a value as a marker, not as text ([`Properties::set_path`],
//! [`path_marker`]): expansion and splitting never see their characters,
//! and [`Properties::command`] puts them back, byte for byte, into the
//! arguments. Seen as text, a `"` in a project's path broke its compile
//! commands, a folder named `{build.path}` was expanded as a property, and a
//! non-UTF-8 name was mangled.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::PlatformError;

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: Arc<PathBuf>,
    pub line: usize,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone)]
struct Value {
    text: String,
    source: Option<Source>,
}

/// An ordered set of properties.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    /// Keys in the order they first appeared (menus list their default
    /// option first; board ids keep the file's order).
    order: Vec<String>,
    values: HashMap<String, Value>,
}

/// This OS as the Arduino platform specification names it (`linux`,
/// `macosx`, `windows`): the suffix whose keys override the plain ones
/// here, and the value of `runtime.os`.
pub const OS_SUFFIX: &str = if cfg!(target_os = "windows") {
    "windows"
} else if cfg!(target_os = "macos") {
    "macosx"
} else {
    "linux"
};
const OS_SUFFIXES: [&str; 3] = ["linux", "windows", "macosx"];

/// How deep `{a}` → `{b}` → … may go at all (a key met again on the way is
/// a cycle, found at once; this bounds a chain of distinct keys).
const MAX_DEPTH: usize = 1024;

/// Where a path marker begins and ends: characters no property file or
/// path has a use for.
pub const MARK_OPEN: char = '\u{1}';
const MARK_CLOSE: char = '\u{2}';

/// `path` held as a marker in a value (its bytes, hex): put back by
/// [`resolve`] after the value is expanded and split.
pub fn path_marker(path: &OsStr) -> String {
    let mut out = String::with_capacity(path.len() * 2 + 2);
    out.push(MARK_OPEN);
    for b in path.as_encoded_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out.push(MARK_CLOSE);
    out
}

/// `text` with every path marker replaced by its path.
pub fn resolve(text: &str) -> OsString {
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(MARK_OPEN) {
        bytes.extend_from_slice(&rest.as_bytes()[..open]);
        let after = &rest[open + MARK_OPEN.len_utf8()..];
        let Some(close) = after.find(MARK_CLOSE) else {
            bytes.extend_from_slice(&rest.as_bytes()[open..]);
            rest = "";
            break;
        };
        let hex = &after[..close];
        bytes.extend(
            (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()),
        );
        rest = &after[close + MARK_CLOSE.len_utf8()..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    os_from_bytes(bytes)
}

#[cfg(unix)]
fn os_from_bytes(bytes: Vec<u8>) -> OsString {
    std::os::unix::ffi::OsStringExt::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_from_bytes(bytes: Vec<u8>) -> OsString {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

impl Properties {
    /// Reads a property file.
    pub fn load(path: &Path) -> Result<Self, PlatformError> {
        let text = std::fs::read_to_string(path).map_err(|e| PlatformError::Read {
            path: path.to_path_buf(),
            cause: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`, read from `file`.
    pub fn parse(text: &str, file: &Path) -> Result<Self, PlatformError> {
        let file = Arc::new(file.to_path_buf());
        let mut props = Properties::default();
        let mut os_specific = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let source = Source {
                file: Arc::clone(&file),
                line: i + 1,
            };
            let Some((key, value)) = line.split_once('=') else {
                return Err(PlatformError::Syntax {
                    at: source,
                    message: format!("expected `key=value`, found {line:?}"),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            match key.rsplit_once('.') {
                Some((base, os)) if OS_SUFFIXES.contains(&os) => {
                    if os == OS_SUFFIX {
                        os_specific.push((base.to_string(), value.to_string(), source));
                    }
                }
                _ => props.insert(key.to_string(), value.to_string(), Some(source)),
            }
        }
        for (key, value, source) in os_specific {
            props.insert(key, value, Some(source));
        }
        Ok(props)
    }

    fn insert(&mut self, key: String, text: String, source: Option<Source>) {
        if !self.values.contains_key(&key) {
            self.order.push(key.clone());
        }
        self.values.insert(key, Value { text, source });
    }

    /// Sets `key` (a value fbuild computes: no source file).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.insert(key.into(), value.into(), None);
    }

    /// Sets `key` to a path, held as a marker (see the module's notes).
    pub fn set_path(&mut self, key: impl Into<String>, path: &Path) {
        self.set(key, path_marker(path.as_os_str()));
    }

    /// `key`'s value as a path (markers put back; not expanded).
    pub fn get_path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(|v| PathBuf::from(resolve(v)))
    }

    /// `key` expanded with `overlay` values over ours and split into
    /// arguments as the Arduino tools do, each path put back as it was.
    /// A placeholder no property defines is an error (build recipes use
    /// [`Properties::recipe_command`], which keeps it as arduino-cli does).
    pub fn command(
        &self,
        key: &str,
        overlay: &[(&str, String)],
    ) -> Result<Vec<OsString>, PlatformError> {
        let mut command = self.recipe_command(key, overlay)?;
        match command.undefined.is_empty() {
            true => Ok(command.args),
            // A command fbuild runs as the core wrote it (an upload, an
            // emulator) must not pass `{x}` to the tool: the first one
            // undefined is the error, naming its key and place.
            false => Err(command.undefined.remove(0)),
        }
    }

    /// Like [`Properties::command`], with the placeholders it left as
    /// written (each a [`PlatformError::Undefined`] naming its key and
    /// place), for a warning.
    pub fn recipe_command(
        &self,
        key: &str,
        overlay: &[(&str, String)],
    ) -> Result<RecipeCommand, PlatformError> {
        let (line, kept) = self.expand_key_keeping(key, overlay, Some(Vec::new()))?;
        Ok(RecipeCommand {
            args: split_command(&line).iter().map(|a| resolve(a)).collect(),
            undefined: kept.unwrap_or_default(),
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|v| v.text.as_str())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Where `key` was written, if it came from a file.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.values.get(key)?.source.as_ref()
    }

    /// Keys in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// `other`'s keys over ours (later wins).
    pub fn merge(&mut self, other: &Properties) {
        for key in &other.order {
            let v = &other.values[key];
            self.insert(key.clone(), v.text.clone(), v.source.clone());
        }
    }

    /// The keys under `prefix.`, with the prefix taken off, in order.
    pub fn subtree(&self, prefix: &str) -> Properties {
        let dotted = format!("{prefix}.");
        let mut out = Properties::default();
        for key in &self.order {
            if let Some(rest) = key.strip_prefix(&dotted) {
                let v = &self.values[key];
                out.insert(rest.to_string(), v.text.clone(), v.source.clone());
            }
        }
        out
    }

    /// Everything but the keys under `prefix.`.
    pub fn without(&self, prefix: &str) -> Properties {
        let dotted = format!("{prefix}.");
        let mut out = Properties::default();
        for key in self.order.iter().filter(|k| !k.starts_with(&dotted)) {
            let v = &self.values[key];
            out.insert(key.clone(), v.text.clone(), v.source.clone());
        }
        out
    }

    /// The distinct first components of the keys, in order (board ids of a
    /// boards.txt, options of a menu).
    pub fn first_level(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.order
            .iter()
            .map(|k| k.split('.').next().unwrap_or(k).to_string())
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }

    /// `key`'s value with every `{placeholder}` expanded. A placeholder no
    /// property defines is an error naming the key and where it was
    /// written.
    pub fn expand_key(&self, key: &str) -> Result<String, PlatformError> {
        self.expand_key_with(key, &[])
    }

    /// Like [`Properties::expand_key`], with `overlay` values over ours
    /// (per-source values such as `source_file`, without copying the set).
    pub fn expand_key_with(
        &self,
        key: &str,
        overlay: &[(&str, String)],
    ) -> Result<String, PlatformError> {
        self.expand_key_keeping(key, overlay, None)
            .map(|(line, _)| line)
    }

    /// `key` expanded with `overlay`; with `kept` (`Some`), a placeholder
    /// nothing defines stays as written and is listed there, else it is
    /// the error.
    fn expand_key_keeping(
        &self,
        key: &str,
        overlay: &[(&str, String)],
        kept: Option<Vec<PlatformError>>,
    ) -> Result<(String, Option<Vec<PlatformError>>), PlatformError> {
        let value = self.get(key).ok_or_else(|| PlatformError::Missing {
            key: key.to_string(),
        })?;
        let mut x = Expander::new(self, overlay, kept);
        x.stack.push(key.to_string());
        let line = x.expand_in(value, key)?;
        Ok((line, x.kept))
    }

    /// `template` with every `{placeholder}` expanded (`what` names it in
    /// errors).
    pub fn expand(&self, template: &str, what: &str) -> Result<String, PlatformError> {
        Expander::new(self, &[], None).expand_in(template, what)
    }
}

/// A recipe's arguments, and the placeholders left in them as written.
#[derive(Debug, Clone)]
pub struct RecipeCommand {
    pub args: Vec<OsString>,
    pub undefined: Vec<PlatformError>,
}

/// One expansion: the properties, per-command values over them, and what
/// an undefined placeholder does.
struct Expander<'a> {
    props: &'a Properties,
    overlay: &'a [(&'a str, String)],
    /// `None`: an undefined placeholder is an error; `Some`: it stays as
    /// written and is noted here.
    kept: Option<Vec<PlatformError>>,
    /// The keys being expanded (one met again is a cycle).
    stack: Vec<String>,
}

impl<'a> Expander<'a> {
    fn new(
        props: &'a Properties,
        overlay: &'a [(&'a str, String)],
        kept: Option<Vec<PlatformError>>,
    ) -> Self {
        Expander {
            props,
            overlay,
            kept,
            stack: Vec::new(),
        }
    }

    /// `text` (the value of `what`, which names it in messages) expanded.
    fn expand_in(&mut self, text: &str, what: &str) -> Result<String, PlatformError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .unwrap_or(after.len());
            if name_len == 0 || !after[name_len..].starts_with('}') {
                // Not a placeholder (a literal brace): keep it.
                out.push('{');
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            rest = &after[name_len + 1..];
            let value = self
                .overlay
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| self.props.get(name));
            let Some(value) = value else {
                let undefined = PlatformError::Undefined {
                    placeholder: name.to_string(),
                    key: what.to_string(),
                    at: self.props.source(what).cloned(),
                };
                match &mut self.kept {
                    None => return Err(undefined),
                    Some(kept) => kept.push(undefined),
                }
                out.push_str(&format!("{{{name}}}"));
                continue;
            };
            if self.stack.iter().any(|k| k == name) || self.stack.len() > MAX_DEPTH {
                return Err(PlatformError::Cycle {
                    key: name.to_string(),
                    at: self.props.source(name).cloned(),
                });
            }
            self.stack.push(name.to_string());
            out.push_str(&self.expand_in(value, name)?);
            self.stack.pop();
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Splits an expanded recipe into arguments as the Arduino tools do:
/// whitespace separates, `"…"` and `'…'` group (the quotes go).
pub fn split_command(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut has_arg = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                has_arg = true;
            }
            (None, c) if c.is_whitespace() => {
                if has_arg || !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
                has_arg = false;
            }
            (None, c) => current.push(c),
        }
    }
    if has_arg || !current.is_empty() {
        args.push(current);
    }
    args
}

#[cfg(test)]
#[path = "props_tests.rs"]
mod tests;
