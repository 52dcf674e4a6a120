//! Adding `-MP`'s phony targets to a depfile, byte for byte as the
//! compiler would have (see `rewrites`): one `dep:` rule for every
//! prerequisite but the first (the main source), in the order and the
//! quoting the compiler wrote them in; GCC 10 and later put them on
//! consecutive lines, older GCC put a blank line before each.

use std::path::Path;

/// Appends the phony targets to `path`.
pub fn add_phony_targets(path: &Path, blank_line: bool) -> std::io::Result<()> {
    let text = std::fs::read(path)?;
    let mut out = text.clone();
    if !out.ends_with(b"\n") && !out.is_empty() {
        out.push(b'\n');
    }
    for dep in prerequisites(&text).into_iter().skip(1) {
        if blank_line {
            out.push(b'\n');
        }
        out.extend_from_slice(&dep);
        out.extend_from_slice(b":\n");
    }
    // Write beside and rename: a reader never sees half a depfile.
    let tmp = path.with_extension(format!("d.fbuild-tmp.{}", std::process::id()));
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, path)
}

/// The prerequisites of the first rule, as written (escapes kept).
fn prerequisites(text: &[u8]) -> Vec<Vec<u8>> {
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
                break; // end of the first rule
            }
            c => current.push(c),
        }
        i += 1;
    }
    flush(&mut tokens, &mut current);
    // Targets run up to the token that ends with ':' (or is ':').
    let Some(colon) = tokens.iter().position(|t| t.ends_with(b":")) else {
        return Vec::new();
    };
    let mut deps: Vec<Vec<u8>> = tokens.split_off(colon + 1);
    deps.retain(|d| !d.is_empty());
    deps
}

fn flush(tokens: &mut Vec<Vec<u8>>, current: &mut Vec<u8>) {
    if !current.is_empty() {
        tokens.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_phony(text: &str, blank: bool) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.d");
        std::fs::write(&p, text).unwrap();
        add_phony_targets(&p, blank).unwrap();
        std::fs::read_to_string(&p).unwrap()
    }

    #[test]
    fn gcc12_and_older_styles() {
        let rule = "a.o: a.c a.h \\\n inc/b\\ c.h\n";
        assert_eq!(
            with_phony(rule, false),
            format!("{rule}a.h:\ninc/b\\ c.h:\n")
        );
        assert_eq!(
            with_phony(rule, true),
            format!("{rule}\na.h:\n\ninc/b\\ c.h:\n")
        );
        assert_eq!(with_phony("a.o: a.c\n", false), "a.o: a.c\n");
    }
}
