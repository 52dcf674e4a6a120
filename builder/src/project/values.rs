//! How `platformio.ini` values split into items: lists (commas or lines;
//! PlatformIO's multi-value rule for `lib_deps`), source filters and
//! build flags; a folder value's `~`.

use std::path::PathBuf;

/// PlatformIO's multi-value rule: one item per line when the value has
/// several lines, else items separated by `, ` (so a range such as
/// `>=1.0.0,<2` stays whole); `;` starts a comment.
pub(super) fn split_multi(value: &str) -> Vec<String> {
    let sep = if value.contains('\n') { "\n" } else { ", " };
    value
        .split(sep)
        .map(|item| item.split(';').next().unwrap_or("").trim())
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Comma- or newline-separated items.
pub(super) fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `+<…>` / `-<…>` filter items.
pub(super) fn split_filter(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value.trim();
    while let Some(start) = rest.find(['+', '-']) {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        out.push(rest[start..start + end + 1].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// Shell-like splitting of flags: whitespace separates, quotes group, and
/// are kept inside `-D` values (`-DNAME="a b"` stays one flag with quotes).
pub fn split_flags(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // The open quote, and whether it is kept (it opened inside a -D value).
    let mut quote: Option<(char, bool)> = None;
    let mut started = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            // A backslash escapes the next character (`-DNAME=\"x\"`), as in
            // PlatformIO, except inside single quotes.
            (q, '\\') if q.map(|(q, _)| q) != Some('\'') => {
                if let Some(next) = chars.next() {
                    cur.push(next);
                    started = true;
                }
            }
            (Some((q, keep)), c) if c == q => {
                quote = None;
                if keep {
                    cur.push(c);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                let keep = cur.starts_with("-D");
                if keep {
                    cur.push(c);
                }
                quote = Some((c, keep));
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// A yes/no value as PlatformIO reads one: `yes`/`no`, `true`/`false`,
/// `1`/`0`, `on`/`off`, any case.
pub fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "on" | "y" => Some(true),
        "no" | "false" | "0" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// A folder value with `~` at its start as the user's home (PlatformIO
/// expands it: `build_dir = ~/builds`); others as written.
pub fn home_expanded(value: &str) -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    match (value.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with(['/', '\\']) => {
            PathBuf::from(home).join(rest.trim_start_matches(['/', '\\']))
        }
        _ => PathBuf::from(value),
    }
}
