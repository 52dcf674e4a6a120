//! Response files: a command line longer than the OS takes goes to the
//! tool as `@file` (GCC, binutils' ld and ar, TinyCC and clang read them).
//! Windows takes at most 32,767 characters (measured under wine: a link of
//! 140 objects with long names was cut and failed with "file … not
//! found"); Linux ~2 MiB in all.
//!
//! The file's format is libiberty's: arguments separated by white space, a
//! backslash before any character takes it as it is (so spaces, quotes and
//! Windows' backslashes are escaped). Its name is a hash of its contents
//! under the temp dir: the same long command gives the same `@file`, so a
//! cache keyed by the command line still hits.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Longest command line (program and arguments, with a separator each)
/// passed as it is.
pub const MAX_LINE: usize = if cfg!(windows) { 30_000 } else { 1_000_000 };

/// Whether `program args…` fits on a command line.
pub fn fits(program: &Path, args: &[OsString]) -> bool {
    let len: usize = args.iter().map(|a| a.len() + 3).sum();
    program.as_os_str().len() + len <= MAX_LINE
}

/// The arguments as one `@file`, written (once per contents) under
/// `dir`.
pub fn write(args: &[OsString], dir: &Path) -> std::io::Result<OsString> {
    let text = contents(args);
    let name = format!("fbuild-{:016x}.rsp", crate::hash::fnv1a64(&text));
    let path = dir.join(name);
    if std::fs::read(&path).ok().as_deref() != Some(&text[..]) {
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, &path)?;
    }
    let mut arg = OsString::from("@");
    arg.push(path.as_os_str());
    Ok(arg)
}

/// The file's bytes: each argument escaped, one per line.
fn contents(args: &[OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for arg in args {
        for &b in &narrow(arg) {
            if b.is_ascii_whitespace() || matches!(b, b'\\' | b'"' | b'\'') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'\n');
    }
    out
}

/// An argument as the tool reads it from a file: its bytes (Unix); on
/// Windows the text as a narrow-API tool sees it, which [`crate::console`]
/// encodes.
fn narrow(arg: &OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        arg.as_bytes().to_vec()
    }
    #[cfg(windows)]
    {
        crate::console::ansi_bytes(&arg.to_string_lossy())
    }
}

/// Where response files go.
pub fn dir() -> PathBuf {
    std::env::temp_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_do_not_fit_and_arguments_are_escaped() {
        let long = vec![OsString::from("x".repeat(MAX_LINE))];
        assert!(!fits(Path::new("cc"), &long));
        assert!(fits(Path::new("cc"), &[OsString::from("-c")]));
        let args = ["-o", "a b.o", "C:\\x\\y.o", "it's \"q\""].map(OsString::from);
        assert_eq!(
            String::from_utf8(contents(&args)).unwrap(),
            "-o\na\\ b.o\nC:\\\\x\\\\y.o\nit\\'s\\ \\\"q\\\"\n"
        );
    }

    /// GCC reads the file back as the arguments it holds.
    #[cfg(unix)]
    #[test]
    fn gcc_reads_the_arguments_back() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("odd 'dir'");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("a b.c"), "int f(void) { return NAME; }\n").unwrap();
        let args: Vec<OsString> = vec![
            "-c".into(),
            "-DNAME=(1 + 2)".into(),
            src.join("a b.c").into(),
            "-o".into(),
            dir.path().join("out \"x\".o").into(),
        ];
        let file = write(&args, dir.path()).unwrap();
        assert_eq!(
            write(&args, dir.path()).unwrap(),
            file,
            "one name per contents"
        );
        let status = std::process::Command::new("cc")
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(dir.path().join("out \"x\".o").is_file());
    }
}
