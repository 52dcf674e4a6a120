//! Adding `-MP`'s phony targets to a depfile, byte for byte as the
//! compiler would have (see `rewrites`): one `dep:` rule for every
//! prerequisite but the first (the main source), in the order and the
//! quoting the compiler wrote them in; GCC 10 and later put them on
//! consecutive lines, older GCC put a blank line before each.

use std::path::Path;

use fbuild_core::depfile;

/// Appends the phony targets to `path`.
pub fn add_phony_targets(path: &Path, blank_line: bool) -> std::io::Result<()> {
    let text = std::fs::read(path)?;
    let mut out = text.clone();
    if !out.ends_with(b"\n") && !out.is_empty() {
        out.push(b'\n');
    }
    let first = depfile::rules(&text).into_iter().next();
    let deps = first.map(|r| r.prerequisites).unwrap_or_default();
    for dep in deps.into_iter().skip(1) {
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
