//! Arduino property files (`platform.txt`, `boards.txt`,
//! `programmers.txt`), read as the Arduino platform specification says:
//! `key=value` lines (both trimmed), `#` comments, a later key overrides
//! an earlier one, `key.linux`/`key.windows`/`key.macosx` override `key` on
//! that OS, and `{placeholder}` references to other keys, expanded
//! recursively. Every value remembers the file and line it came from, so
//! an error can name them.
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

/// The OS suffix whose keys override the plain ones here.
const OS_SUFFIX: &str = if cfg!(target_os = "windows") {
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
    pub fn command(
        &self,
        key: &str,
        overlay: &[(&str, String)],
    ) -> Result<Vec<OsString>, PlatformError> {
        let line = self.expand_key_with(key, overlay)?;
        Ok(split_command(&line).iter().map(|a| resolve(a)).collect())
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
        let value = self.get(key).ok_or_else(|| PlatformError::Missing {
            key: key.to_string(),
        })?;
        self.expand_in(value, key, &mut vec![key.to_string()], overlay)
    }

    /// `template` with every `{placeholder}` expanded (`what` names it in
    /// errors).
    pub fn expand(&self, template: &str, what: &str) -> Result<String, PlatformError> {
        self.expand_in(template, what, &mut Vec::new(), &[])
    }

    /// `text` (the value of `what`, which names it in errors) expanded;
    /// `stack`: the keys being expanded around it (one met again is a
    /// cycle).
    fn expand_in(
        &self,
        text: &str,
        what: &str,
        stack: &mut Vec<String>,
        overlay: &[(&str, String)],
    ) -> Result<String, PlatformError> {
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
            let value = overlay
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| self.get(name));
            let Some(value) = value else {
                return Err(PlatformError::Undefined {
                    placeholder: name.to_string(),
                    key: what.to_string(),
                    at: self.source(what).cloned(),
                });
            };
            if stack.iter().any(|k| k == name) || stack.len() > MAX_DEPTH {
                return Err(PlatformError::Cycle {
                    key: name.to_string(),
                    at: self.source(name).cloned(),
                });
            }
            stack.push(name.to_string());
            out.push_str(&self.expand_in(value, name, stack, overlay)?);
            stack.pop();
            rest = &after[name_len + 1..];
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
mod tests {
    use super::*;

    fn parse(text: &str) -> Properties {
        Properties::parse(text, Path::new("/x/platform.txt")).unwrap()
    }

    #[test]
    fn os_keys_override_and_later_wins() {
        let p = parse("# c\na=1\nb=plain\nb.linux=lin\nb.windows=win\na = 2 \n");
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(
            p.get("b"),
            Some(if cfg!(target_os = "linux") {
                "lin"
            } else {
                "plain"
            })
        );
        assert!(!p.contains("b.windows"));
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn placeholders_expand_recursively_and_undefined_ones_are_named() {
        let p = parse(
            "path=/usr/bin/\ncmd=avr-gcc\nrecipe=\"{path}{cmd}\" -c {flags}\nflags=-Os {more}\nmore=-g\nbad=x {nope} y\n",
        );
        assert_eq!(
            p.expand_key("recipe").unwrap(),
            "\"/usr/bin/avr-gcc\" -c -Os -g"
        );
        let err = p.expand_key("bad").unwrap_err().to_string();
        assert!(
            err.contains("{nope}") && err.contains("bad") && err.contains("/x/platform.txt:6"),
            "{err}"
        );
        let cyc = parse("a={b}\nb={a}\n");
        assert!(
            cyc.expand_key("a")
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
        assert_eq!(
            p.expand("{ not a placeholder } {cmd}", "t").unwrap(),
            "{ not a placeholder } avr-gcc"
        );
    }

    #[test]
    fn subtree_and_first_level_keep_order() {
        let p = parse(
            "uno.name=Uno\nuno.build.mcu=m328\nnano.name=Nano\nnano.menu.cpu.atmega328=A\nnano.menu.cpu.atmega168=B\n",
        );
        assert_eq!(p.first_level(), vec!["uno", "nano"]);
        let nano = p.subtree("nano");
        assert_eq!(
            nano.subtree("menu.cpu").first_level(),
            vec!["atmega328", "atmega168"]
        );
        assert_eq!(nano.source("name").unwrap().line, 3);
    }

    #[test]
    fn commands_split_like_the_arduino_tools() {
        assert_eq!(
            split_command(r#""/usr/bin/avr-gcc" -c '-DX="a b"' "" -o "/t/o.o""#),
            vec!["/usr/bin/avr-gcc", "-c", "-DX=\"a b\"", "", "-o", "/t/o.o"]
        );
    }

    #[test]
    fn a_line_without_equals_is_an_error_with_its_place() {
        let err = Properties::parse("a=1\nnonsense\n", Path::new("/b/boards.txt")).unwrap_err();
        assert!(err.to_string().contains("/b/boards.txt:2"), "{err}");
    }

    #[test]
    fn paths_pass_through_expansion_and_splitting_untouched() {
        use std::os::unix::ffi::OsStrExt;
        let mut p =
            parse("recipe=\"{compiler}\" -o \"{build.path}/out.o\" {includes}\ncompiler=cc\n");
        let odd = OsStr::from_bytes(b"/tmp/a \"b\" {build.path} \xff");
        p.set_path("build.path", Path::new(odd));
        let includes = format!("\"-I{}\"", path_marker(OsStr::new("/x y")));
        let args = p.command("recipe", &[("includes", includes)]).unwrap();
        let mut out = odd.to_os_string();
        out.push("/out.o");
        assert_eq!(
            args,
            vec![OsString::from("cc"), "-o".into(), out, "-I/x y".into()]
        );
        assert_eq!(p.get_path("build.path").unwrap().as_os_str(), odd);
    }

    #[test]
    fn a_long_chain_is_no_cycle_and_a_loop_is() {
        let mut text: String = (0..40).map(|i| format!("k{i}={{k{}}}\n", i + 1)).collect();
        text.push_str("k40=end\nx={y}\ny={x}\n");
        let p = parse(&text);
        assert_eq!(p.expand_key("k0").unwrap(), "end");
        assert!(matches!(
            p.expand_key("x"),
            Err(PlatformError::Cycle { .. })
        ));
    }
}
