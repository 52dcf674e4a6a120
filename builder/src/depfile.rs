//! Reading the prerequisites out of a make-style depfile (`-MMD`).

use std::path::{Path, PathBuf};

/// The prerequisites of every rule in `text`, unescaped, relative paths
/// taken against `cwd`.
pub fn prerequisites(text: &str, cwd: &Path) -> Vec<PathBuf> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        // Split at the first ':' that is followed by whitespace or the end.
        let bytes = line.as_bytes();
        let Some(colon) = (0..bytes.len()).find(|&i| {
            bytes[i] == b':' && bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
        }) else {
            continue;
        };
        let mut cur = String::new();
        let mut chars = line[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    cur.push(' ');
                    chars.next();
                }
                '$' if chars.peek() == Some(&'$') => {
                    cur.push('$');
                    chars.next();
                }
                c if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(cwd.join(std::mem::take(&mut cur)));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(cwd.join(cur));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_continuations_and_escapes() {
        let deps = prerequisites(
            "obj/a.o: src/a.c /usr/x.h \\\n inc/b\\ c.h\nx.h:\n",
            Path::new("/p"),
        );
        assert_eq!(
            deps,
            vec![
                PathBuf::from("/p/inc/b c.h"),
                PathBuf::from("/p/src/a.c"),
                PathBuf::from("/usr/x.h")
            ]
        );
    }
}
