//! What of a C/C++ source the compiler sees, for incremental builds: the
//! text with every comment blanked (newlines kept), trailing whitespace
//! and trailing blank lines dropped, hashed. Two versions of a file with
//! the same key hold the same tokens at the same lines and columns, so
//! they compile to the same object: an edit of comments recompiles
//! nothing. Where that cannot be told from the text alone the file has no
//! key and any change recompiles: raw strings, trigraphs, a line splice
//! next to a comment marker, a line comment continued by a backslash, and
//! `__DATE__`/`__TIME__`/`__TIMESTAMP__` (a rebuild must refresh them).

use sha2::{Digest, Sha256};

/// The key of `text` (hex), or `None` when it cannot be told safely.
pub fn text_key(text: &[u8]) -> Option<String> {
    const UNSAFE: [&[u8]; 4] = [b"??/", b"__DATE__", b"__TIME__", b"__TIMESTAMP__"];
    if UNSAFE.iter().any(|word| contains(text, word)) || splits_a_marker(text) {
        return None;
    }
    let blanked = blank_comments(text)?;
    let mut hash = Sha256::new();
    let mut blank_lines = 0usize;
    for line in blanked.split(|&b| b == b'\n') {
        let trimmed = trim_end(line);
        // A backslash before trailing blanks still splices: keep them.
        let kept = if trimmed.ends_with(b"\\") {
            line
        } else {
            trimmed
        };
        if kept.is_empty() {
            blank_lines += 1;
            continue;
        }
        for _ in 0..blank_lines {
            hash.update(b"\n");
        }
        blank_lines = 0;
        hash.update(kept);
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    Some(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// The text with each comment's bytes turned to spaces (newlines kept).
/// `None` for what this reading cannot follow: a raw string, an
/// unterminated block comment, a line comment ending in a backslash.
fn blank_comments(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = text.to_vec();
    let mut i = 0;
    while i < text.len() {
        match (text[i], text.get(i + 1)) {
            (b'/', Some(b'/')) => {
                let end = line_end(text, i);
                if trim_end(&text[i..end]).ends_with(b"\\") {
                    return None;
                }
                out[i..end].fill(b' ');
                i = end;
            }
            (b'/', Some(b'*')) => {
                let end = i + 2 + find(&text[i + 2..], b"*/")? + 2;
                for b in &mut out[i..end] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                i = end;
            }
            (b'"', _) if i > 0 && text[i - 1] == b'R' => return None,
            (b'\'', _) if digit_separator(text, i) => i += 1,
            (quote @ (b'"' | b'\''), _) => i = literal_end(text, i, quote),
            _ => i += 1,
        }
    }
    Some(out)
}

/// Just past the string or character literal opened at `start`: its
/// closing quote, else the end of its line (an unterminated literal).
fn literal_end(text: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < text.len() && text[i] != quote && text[i] != b'\n' {
        if text[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Whether the `'` at `i` separates digits (C++14 `1'000'000`): the run of
/// identifier characters before it starts with a digit.
fn digit_separator(text: &[u8], i: usize) -> bool {
    let run_start = text[..i]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
        .map_or(0, |p| p + 1);
    run_start < i && text[run_start].is_ascii_digit()
}

/// Whether a line splice (backslash, newline) joins a `/` or `*` to what
/// follows: a comment marker this reading would not see.
fn splits_a_marker(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = find(&text[from..], b"\\") {
        let slash = from + at;
        from = slash + 1;
        let rest = &text[from..];
        let blanks = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
            .count();
        if rest.get(blanks) != Some(&b'\n') {
            continue;
        }
        let before = slash.checked_sub(1).map(|p| text[p]);
        let after = rest.get(blanks + 1).copied();
        if matches!(before, Some(b'/' | b'*')) || matches!(after, Some(b'/' | b'*')) {
            return true;
        }
    }
    false
}

fn line_end(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |p| from + p)
}

fn trim_end(line: &[u8]) -> &[u8] {
    let keep = line
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |p| p + 1);
    &line[..keep]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::text_key;

    fn same(a: &str, b: &str) -> bool {
        let (ka, kb) = (text_key(a.as_bytes()), text_key(b.as_bytes()));
        ka.is_some() && ka == kb
    }

    #[test]
    fn comment_edits_keep_the_key() {
        let base = "int x = 1; // one\n/* block\n   comment */ int y;\n";
        assert!(same(
            base,
            "int x = 1; // uno\n/* bloque\n   texte!! */ int y;\n"
        ));
        assert!(same(base, "int x = 1;\n/* block\n   comment */ int y;\n"));
        assert!(same(base, &format!("{base}// appended\n\n\n")));
        assert!(same("a/**/b\n", "a    b\n"));
        assert!(same("int a;\r\n", "int a;\n"));
    }

    #[test]
    fn code_and_position_edits_change_it() {
        let base = "int x = 1; // one\nint y;\n";
        assert!(!same(base, "int x = 2; // one\nint y;\n"));
        // A line added above moves every token (debug info, __LINE__).
        assert!(!same(base, "// new\nint x = 1; // one\nint y;\n"));
        // A column moved (stringizing and column info see spaces).
        assert!(!same(base, "int x  = 1; // one\nint y;\n"));
        // A blank line in the middle moves the tokens below.
        assert!(!same(base, "int x = 1; // one\n\nint y;\n"));
    }

    #[test]
    fn comment_markers_inside_literals_are_text() {
        let base = "const char *u = \"http://a\"; char c = '/'; // x\n";
        assert!(!same(
            base,
            "const char *u = \"http://b\"; char c = '/'; // x\n"
        ));
        assert!(same(
            base,
            "const char *u = \"http://a\"; char c = '/'; // y\n"
        ));
        let escaped = "const char *s = \"a\\\" /* not */\"; int z;\n";
        assert!(!same(
            escaped,
            "const char *s = \"a\\\" /* yes */\"; int z;\n"
        ));
        // Digit separators are not character literals.
        let sep = "long v = 1'000'000'0; const char *s = \"it's // text\";\n";
        assert!(!same(
            sep,
            "long v = 1'000'000'0; const char *s = \"it's // edit\";\n"
        ));
        assert!(same("int v = 1'000; // a\n", "int v = 1'000; // b\n"));
    }

    #[test]
    fn what_cannot_be_told_has_no_key() {
        for text in [
            "const char *r = R\"(// x)\";\n",
            "// a comment \\\nint continued;\n",
            "int a; /\\\n/ spliced comment\n",
            "const char *d = __DATE__;\n",
            "int t = __TIMESTAMP__[0];\n",
            "char q = '?' ??/\n;\n",
            "/* never closed\n",
        ] {
            assert_eq!(text_key(text.as_bytes()), None, "{text:?}");
        }
        // A macro continued over lines is fine.
        assert!(text_key(b"#define TWICE(x) \\\n  ((x) * 2) // doubled\n").is_some());
    }
}
