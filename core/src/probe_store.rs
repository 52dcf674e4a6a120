//! Compiler probes, answered from fbuild's link store
//! (`FBUILD_HOME/builds/links/<key>/`): the checks a build's files run at
//! every make (zstd's makefiles compile and link a program from stdin to
//! `/dev/null` to learn whether the toolchain takes `-z noexecstack`;
//! 54–70 ms each, four per make) that no cache serves — ccache neither:
//! stdin, `/dev/null`. The answer is the exit code (0 or 1: a signal or an
//! internal error is never kept), stdout and stderr; a failure is an
//! answer as much as a success.
//!
//! A probe is kept only when its answer can depend on nothing but what the
//! key covers ([`plan`]): its output goes to `/dev/null` and nothing else
//! is written (no `-M…` depfile, no option of the link store's
//! `UNNAMED_OUTPUTS`); its program (stdin, or the files on the line) names
//! no other file — no `#include`, `#import`, `__has_include`, `#embed`,
//! `.include`, `.incbin` in it, no `-include`/`-imacros`, no `@file`, no
//! `-specs`, `-B` or `-wrapper` on the line (a header that appears later
//! would change a failure's answer, and no depfile of a failure says which
//! one it looked for); every `-l` library is in a folder the toolchain's
//! fingerprint covers. The key: the compiler (path, size, mtime), the
//! working folder, the toolchain's fingerprint (its library folders and
//! files, [`link_inputs::key_flag`](crate::link_inputs::key_flag)), the
//! linkers and the assembler on PATH, GCC's and the locale's variables,
//! the line, and every input by content.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::link_store::{self, Replay};

/// The store's format for probes (another namespace than links').
const FORMAT: &str = "fbuild probe 1";

/// Where a probe's output goes.
#[cfg(unix)]
pub const NULL_DEVICE: &str = "/dev/null";
#[cfg(not(unix))]
pub const NULL_DEVICE: &str = "NUL";

/// Words that, anywhere in a probe's program, may name another file.
const NAMES_A_FILE: &[&[u8]] = &[b"include", b"import", b"incbin", b"embed"];

/// Options that read or write a file the key does not cover.
const UNKEYED: &[&str] = &[
    "-include",
    "-imacros",
    "--include",
    "-specs",
    "--specs",
    "-B",
    "-wrapper",
    "-M",
    "-save-temps",
    "-fdump-",
    "-dumpdir",
    "-dumpbase",
    "-fcallgraph-info",
    "-fstack-usage",
    "-fprofile-",
    "-fauto-profile",
    "-fplugin",
    "-fcoverage",
    "--coverage",
    "-###",
    "-gsplit-dwarf",
    "-fopt-info",
    "-fsave-optimization-record",
    "-aux-info",
    "-fdebug-prefix-map",
    "-Wl,@",
];

/// Options whose value is the next argument (not an input).
const TAKES_VALUE: &[&str] = &[
    "-x",
    "-z",
    "-L",
    "-l",
    "-I",
    "-D",
    "-U",
    "-T",
    "-u",
    "-e",
    "-Xlinker",
    "-Xassembler",
    "-Xpreprocessor",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-isysroot",
    "-iprefix",
    "-iwithprefix",
    "--sysroot",
    "--param",
];

/// Environment variables a compiler or linker reads.
const VARIABLES: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "LIBRARY_PATH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "SOURCE_DATE_EPOCH",
    "DEPENDENCIES_OUTPUT",
    "SUNPRO_DEPENDENCIES",
    "GCC_COMPARE_DEBUG",
    "LANG",
    "LC_ALL",
    "LC_MESSAGES",
    "LC_CTYPE",
    "GCC_COLORS",
];

/// A probe: the compiler, its line, where it runs, what it reads on stdin
/// (when an input is `-`; `None` then: not kept), and its toolchain's
/// fingerprint.
pub struct Probe<'a> {
    pub tool: &'a Path,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub stdin: Option<&'a [u8]>,
    pub fingerprint: &'a str,
}

/// Whether `args` are a probe's line: output to the null device, an input
/// (stdin as `-`, or files), and no option that reads or writes an
/// unkeyed file. Returns the input files named (stdin not among them).
pub fn inputs(args: &[String]) -> Option<Vec<String>> {
    let (mut to_null, mut files) = (false, Vec::new());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a.starts_with('@') || UNKEYED.iter().any(|u| a.starts_with(u)) {
            return None;
        }
        if a == "-o" {
            to_null |= it.next()? == NULL_DEVICE;
            if !to_null {
                return None;
            }
        } else if let Some(out) = a.strip_prefix("-o") {
            if out != NULL_DEVICE {
                return None;
            }
            to_null = true;
        } else if TAKES_VALUE.contains(&a.as_str()) {
            it.next()?;
        } else if a == "-" {
            continue;
        } else if !a.starts_with('-') {
            files.push(a.clone());
        }
    }
    let stdin = args.iter().any(|a| a == "-");
    (to_null && (stdin || !files.is_empty())).then_some(files)
}

/// The probe's key, when it may be kept (see the module's words).
pub fn plan(p: &Probe) -> Option<String> {
    let files = inputs(p.args)?;
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(FORMAT.as_bytes());
    let tool = std::fs::metadata(p.tool).ok()?;
    field(p.tool.as_os_str().as_encoded_bytes());
    field(&tool.len().to_le_bytes());
    field(&link_store::nanos(tool.modified().ok()?).to_le_bytes());
    field(p.cwd.as_os_str().as_encoded_bytes());
    field(p.fingerprint.as_bytes());
    // The linkers a line may pick (`-fuse-ld=`) and the assembler.
    for (path, meta) in link_store::on_path(&["ld", "ld.bfd", "ld.gold", "ld.lld", "ld.mold", "as"])
    {
        field(path.as_os_str().as_encoded_bytes());
        field(&meta.len().to_le_bytes());
        field(&link_store::nanos(meta.modified().ok()?).to_le_bytes());
    }
    for var in VARIABLES {
        field(var.as_bytes());
        field(std::env::var_os(var).unwrap_or_default().as_encoded_bytes());
    }
    for a in p.args {
        field(a.as_bytes());
    }
    let mut programs = Vec::new();
    if p.args.iter().any(|a| a == "-") {
        programs.push(p.stdin?.to_vec());
    }
    for f in &files {
        programs.push(std::fs::read(p.cwd.join(f)).ok()?);
    }
    for program in &programs {
        if NAMES_A_FILE
            .iter()
            .any(|w| program.windows(w.len()).any(|x| x == *w))
        {
            return None;
        }
        field(&Sha256::digest(program));
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The answer kept for `key`: (exit code, what it printed).
pub fn answer(store: &Path, key: &str) -> Option<(i32, Replay)> {
    let entry = store.join(key);
    let code = std::fs::read_to_string(entry.join("code"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let planned = link_store::Planned {
        key: key.to_string(),
        outputs: Vec::new(),
    };
    let replay = link_store::restore(store, &planned)?;
    Some((code, replay))
}

/// Keeps the answer of a probe that ended normally (0 or 1).
pub fn keep(store: &Path, key: &str, code: i32, replay: &Replay) -> io::Result<()> {
    if !matches!(code, 0 | 1) {
        return Ok(());
    }
    let entry = store.join(key);
    if entry.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(store)?;
    let stage: PathBuf = store.join(format!(".stage-{}", link_store::unique()));
    let staged = (|| {
        std::fs::create_dir(&stage)?;
        std::fs::write(stage.join("code"), code.to_string())?;
        std::fs::write(stage.join("stdout"), &replay.stdout)?;
        let mut stderr = std::fs::File::create(stage.join(link_store::USED))?;
        stderr.write_all(&replay.stderr)?;
        stderr.sync_all()?;
        std::fs::rename(&stage, &entry)
    })();
    if staged.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
        if entry.join("code").is_file() {
            return Ok(());
        }
    }
    staged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_probes_to_the_null_device_from_stdin_with_keyed_inputs() {
        let probe = |args: &[&str]| inputs(&strings(args));
        assert_eq!(
            probe(&[
                "-O3",
                "-z",
                "noexecstack",
                "-x",
                "c",
                "-",
                "-o",
                NULL_DEVICE
            ]),
            Some(vec![])
        );
        assert_eq!(
            probe(&["-x", "assembler", "-c", "-", &format!("-o{NULL_DEVICE}")]),
            Some(vec![])
        );
        // A real output, no stdin, an unkeyed file: not probes.
        assert_eq!(probe(&["-x", "c", "-", "-o", "a.out"]), None);
        assert_eq!(probe(&["-c", "-o", NULL_DEVICE]), None);
        assert_eq!(
            probe(&["t.c", "-o", NULL_DEVICE]),
            Some(vec!["t.c".to_string()])
        );
        for bad in [
            "-include",
            "@opts",
            "-MD",
            "-specs=x",
            "-B/opt",
            "--coverage",
        ] {
            assert_eq!(
                probe(&[bad, "-x", "c", "-", "-o", NULL_DEVICE]),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_program_that_names_a_file_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cc = dir.path().join("cc");
        std::fs::write(&cc, "").unwrap();
        let args = strings(&["-x", "c", "-", "-o", NULL_DEVICE]);
        let key = |stdin: &[u8]| {
            plan(&Probe {
                tool: &cc,
                args: &args,
                cwd: dir.path(),
                stdin: Some(stdin),
                fingerprint: "f",
            })
        };
        let plain = key(b"int main(void) { return 0; }\n").unwrap();
        assert_ne!(Some(plain), key(b"int main(void) { return 1; }\n"));
        assert_eq!(
            key(b"#include <zlib.h>\nint main(void) { return 0; }\n"),
            None
        );
        assert_eq!(key(b"#if __has_include(<x.h>)\n#endif\n"), None);
        assert_eq!(key(b".incbin \"blob\"\n"), None);
    }

    #[test]
    fn answers_are_kept_whole_with_their_code() {
        let store = tempfile::tempdir().unwrap();
        let replay = Replay {
            stdout: b"out".to_vec(),
            stderr: b"ld: unknown option".to_vec(),
        };
        keep(store.path(), "k1", 1, &replay).unwrap();
        let (code, got) = answer(store.path(), "k1").unwrap();
        assert_eq!(
            (code, got.stderr.as_slice()),
            (1, &b"ld: unknown option"[..])
        );
        // A signal or an internal compiler error is not an answer.
        keep(store.path(), "k4", 4, &replay).unwrap();
        assert!(answer(store.path(), "k4").is_none());
    }
}
