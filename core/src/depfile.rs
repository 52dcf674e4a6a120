//! Make-style depfiles (`-MD`/`-MMD` output), read once for everyone: the
//! shim (which re-adds `-MP`'s phony targets byte for byte, so it needs
//! the tokens as written) and the build engine (which needs the files, to
//! know when an object is out of date).
//!
//! Format, as GCC writes it: `targets: prerequisites`, a backslash before
//! a newline continues the line, a space in a name is `\ `, `#` is `\#`,
//! `$` is `$$`; one rule per (logical) line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One rule, its tokens as written (escapes kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub targets: Vec<Vec<u8>>,
    pub prerequisites: Vec<Vec<u8>>,
}

/// Every rule of `text`.
pub fn rules(text: &[u8]) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut tokens: Vec<Vec<u8>> = Vec::new();
    let mut current = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 1, // line continuation
            b'\\' if text.get(i + 1) == Some(&b'\r') && text.get(i + 2) == Some(&b'\n') => i += 2,
            b'\\' if i + 1 < text.len() => {
                current.extend_from_slice(&text[i..i + 2]); // escaped char: part of the name
                i += 1;
            }
            b' ' | b'\t' | b'\r' => flush(&mut tokens, &mut current),
            b'\n' => {
                flush(&mut tokens, &mut current);
                rules.extend(rule(std::mem::take(&mut tokens)));
            }
            c => current.push(c),
        }
        i += 1;
    }
    flush(&mut tokens, &mut current);
    rules.extend(rule(tokens));
    rules
}

/// A token as a file name: `\ ` → space, `\#` → `#`, `$$` → `$`.
pub fn unescape(token: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    let mut i = 0;
    while i < token.len() {
        match (token[i], token.get(i + 1)) {
            (b'\\', Some(&c @ (b' ' | b'#'))) | (b'$', Some(&c @ b'$')) => {
                out.push(c);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Most tokens one unescaped name that names no file may be joined from:
/// see [`prerequisite_files`].
const MAX_SPLIT: usize = 8;

/// The files every rule of `text` depends on, unescaped, relative ones
/// taken against `cwd`; sorted, each once. Read after a compile (one stat
/// per name). A compiler that does not escape spaces (TinyCC writes
/// `C:\my project\a.h` as is) splits a name at them: a token that names
/// no file is joined, by spaces, with the tokens after it while that
/// names one.
pub fn prerequisite_files(text: &[u8], cwd: &Path) -> Vec<PathBuf> {
    let tokens: Vec<Vec<u8>> = rules(text)
        .into_iter()
        .flat_map(|r| r.prerequisites)
        .map(|t| unescape(&t))
        .collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let (path, taken) = name_at(&tokens[i..], cwd);
        out.push(path);
        i += taken;
    }
    out.sort();
    out.dedup();
    out
}

/// The file the first of `tokens` names (joined with the ones after it
/// when it alone names none) and how many tokens that took.
fn name_at(tokens: &[Vec<u8>], cwd: &Path) -> (PathBuf, usize) {
    let first = cwd.join(os(tokens[0].clone()));
    if first.exists() {
        return (first, 1);
    }
    let mut joined = tokens[0].clone();
    for (k, next) in tokens.iter().enumerate().skip(1).take(MAX_SPLIT) {
        joined.push(b' ');
        joined.extend_from_slice(next);
        let candidate = cwd.join(os(joined.clone()));
        if candidate.exists() {
            return (candidate, k + 1);
        }
    }
    (first, 1)
}

/// Targets run up to the token that ends with ':'.
fn rule(mut tokens: Vec<Vec<u8>>) -> Option<Rule> {
    let colon = tokens.iter().position(|t| t.ends_with(b":"))?;
    let mut prerequisites = tokens.split_off(colon + 1);
    prerequisites.retain(|d| !d.is_empty());
    let mut targets = tokens;
    if let Some(last) = targets.last_mut() {
        last.pop();
        if last.is_empty() {
            targets.pop();
        }
    }
    Some(Rule {
        targets,
        prerequisites,
    })
}

fn flush(tokens: &mut Vec<Vec<u8>>, current: &mut Vec<u8>) {
    if !current.is_empty() {
        tokens.push(std::mem::take(current));
    }
}

#[cfg(unix)]
fn os(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

/// Windows: a compiler using the narrow API (TinyCC, MinGW's gcc) writes
/// names in the ANSI code page (`ü` as the one byte 0xFC in CP1252), not
/// UTF-8: text that is not UTF-8 is decoded from that code page.
#[cfg(windows)]
fn os(bytes: Vec<u8>) -> OsString {
    use windows_sys::Win32::Globalization::{CP_ACP, MultiByteToWideChar};
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => return OsString::from(text),
        Err(e) => e.into_bytes(),
    };
    let Ok(len) = i32::try_from(bytes.len()) else {
        return OsString::from(String::from_utf8_lossy(&bytes).into_owned());
    };
    let mut wide = vec![0u16; bytes.len()];
    // SAFETY: both buffers are valid for the lengths passed; one UTF-16
    // unit per input byte is enough for any single-byte or DBCS code page.
    let written =
        unsafe { MultiByteToWideChar(CP_ACP, 0, bytes.as_ptr(), len, wide.as_mut_ptr(), len) };
    wide.truncate(usize::try_from(written).unwrap_or(0));
    std::os::windows::ffi::OsStringExt::from_wide(&wide)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_as_written_and_files_unescaped() {
        let text = b"obj/a.o: src/a.c /usr/x.h \\\n inc/b\\ c.h\nx.h:\n";
        let r = rules(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].targets, vec![b"obj/a.o".to_vec()]);
        assert_eq!(
            r[0].prerequisites,
            vec![
                b"src/a.c".to_vec(),
                b"/usr/x.h".to_vec(),
                b"inc/b\\ c.h".to_vec()
            ]
        );
        assert!(r[1].prerequisites.is_empty());
        assert_eq!(
            prerequisite_files(text, Path::new("/p")),
            vec![
                PathBuf::from("/p/inc/b c.h"),
                PathBuf::from("/p/src/a.c"),
                PathBuf::from("/usr/x.h")
            ]
        );
        assert_eq!(unescape(b"a$$b\\#c"), b"a$b#c");
    }

    #[test]
    fn names_split_at_unescaped_spaces_are_joined_back() {
        let dir = tempfile::tempdir().unwrap();
        let spaced = dir.path().join("my project/inc dir");
        std::fs::create_dir_all(&spaced).unwrap();
        std::fs::write(spaced.join("a.h"), "").unwrap();
        std::fs::write(dir.path().join("b.h"), "").unwrap();
        let d = dir.path().display();
        let text = format!("o.o: {d}/my project/inc dir/a.h {d}/b.h gone.h\n");
        assert_eq!(
            prerequisite_files(text.as_bytes(), dir.path()),
            vec![
                dir.path().join("b.h"),
                dir.path().join("gone.h"),
                spaced.join("a.h"),
            ]
        );
    }
}
