//! Compiler probes, answered from fbuild's link store
//! (`FBUILD_HOME/builds/links/<key>/`): the checks a build's files run at
//! every make (zstd's makefiles compile and link a program from stdin to
//! `/dev/null` to learn whether the toolchain takes `-z noexecstack`;
//! 54–70 ms each, four per make) that no cache serves — ccache neither:
//! stdin, `/dev/null`. The answer is the exit code (0 or 1: a signal or an
//! internal error is never kept), stdout and stderr; a failure is an
//! answer as much as a success.
//!
//! The compiler's own queries (`cc -v`, `--version`, `-dumpversion`,
//! `-dumpmachine`, alone on the line), which zstd's makefiles and
//! Arduino.mk ask at every make, are probes with no input. A probe is kept
//! only when its answer can depend on nothing but what the key covers
//! ([`plan`]): its one output is `/dev/null`; every other argument is
//! one a probe may have ([`inputs`]: a list of what cannot read or write a
//! file the key misses — no `-M…`, `-include`, `@file`, `-specs`, `-B`,
//! `-L`, `-T`, `-Wp,`, `-fplugin`, `-fuse-ld`, `-m32`…; `-Wa,`/`-Wl,`
//! parts that name no file; source files only); its program (stdin, or
//! the source files) holds no word that could name another file (`include`,
//! `import`, `incbin`, `embed`, `dependency`, in any case, line splices
//! removed: a header that appears later would change a failure's answer,
//! and no depfile of a failure says which one it looked for); every `-l`
//! library is in a folder the toolchain's fingerprint covers. The key: the
//! compiler (path, size, mtime), the working folder, the toolchain's
//! fingerprint (its library folders and files,
//! [`link_inputs::key_flag`](crate::link_inputs::key_flag)), the linker
//! and the assembler on PATH and a cross toolchain's beside its compiler,
//! GCC's, the linker's and the locale's variables, the line, and every
//! input by content.

use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::link_store::{self, Replay};

/// The store's format for probes (another namespace than links').
const FORMAT: &str = "fbuild probe 1";

/// Where a probe's output goes.
#[cfg(unix)]
pub const NULL_DEVICE: &str = "/dev/null";
#[cfg(not(unix))]
pub const NULL_DEVICE: &str = "NUL";

/// Words that, anywhere in a probe's program (line splices removed, any
/// case), may name another file.
const NAMES_A_FILE: &[&[u8]] = &[b"include", b"import", b"incbin", b"embed", b"dependency"];

/// The languages a probe's `-x` may name (not a header: a `.gch` written).
const LANGUAGES: &[&str] = &["c", "c++", "assembler", "assembler-with-cpp"];

/// Options a probe may have as they are.
const PLAIN: &[&str] = &[
    "-c",
    "-S",
    "-E",
    "-P",
    "-w",
    "-pthread",
    "-pie",
    "-no-pie",
    "-static",
    "-static-libgcc",
    "-static-libstdc++",
    "-shared",
    "-rdynamic",
    "-s",
    "-pipe",
    "-ansi",
    "-nostdlib",
    "-nostartfiles",
    "-nodefaultlibs",
    "-Qunused-arguments",
];

/// `-f…` options that, besides the link store's `UNNAMED_OUTPUTS` (files
/// a line does not name), read or write files, or pick another linker or
/// plugin: not in a probe.
const F_DENIED: &[&str] = &[
    "-fpass-plugin",
    "-fprofile",
    "-fcoverage",
    "-fdump",
    "-fdebug-prefix-map",
    "-fmacro-prefix-map",
    "-ffile-prefix-map",
    "-fprofile-prefix-map",
    "-fuse-ld",
    "-fdiagnostics-format",
    "-flto",
    "-fcompare-debug",
    "-fsanitize",
];

/// `-m…` options that pick other libraries (a multilib).
const M_DENIED: &[&str] = &["-m32", "-mx32", "-m16", "-mabi"];

/// Prefixes of `-Wa,`/`-Wl,` parts that read or write files.
const PART_DENIED: &[&str] = &[
    "-I",
    "-a",
    "--MD",
    "-MD",
    "-o",
    "--output",
    "-T",
    "--script",
    "-Map",
    "--Map",
    "-rpath",
    "--rpath",
    "-R",
    "--just-symbols",
    "--version-script",
    "--dynamic-list",
    "-L",
    "--library",
    "-l",
    "--dependency-file",
    "--out-implib",
    "--output-def",
    "--pdb",
    "-plugin",
    "--plugin",
    "--sysroot",
    "--trace",
    "-y",
    "--retain-symbols-file",
    "--defsym",
    "@",
];

/// Source files a probe may name (a linker script, an object or a
/// library may name other files).
pub(crate) const SOURCES: &[&str] = &[
    "c", "cc", "cpp", "cxx", "c++", "C", "s", "S", "sx", "i", "ii",
];

/// A word of a `-Wa,`/`-Wl,` part or a `-z` keyword: letters, digits,
/// `_`, `.`, `-`, `=`, and no file (no `/`, `\\`, `@`).
fn plain_word(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '=' | '+'))
}

/// `-Wa,…`/`-Wl,…` parts: each a plain option, or (`-Wl,`) the keyword
/// after `-z`.
fn parts_allowed(parts: &str) -> bool {
    let mut after_z = false;
    for part in parts.split(',') {
        let ok = match (after_z, part.starts_with('-')) {
            (true, _) => plain_word(part),
            (false, true) => plain_word(part) && !PART_DENIED.iter().any(|d| part.starts_with(d)),
            (false, false) => false,
        };
        if !ok {
            return false;
        }
        after_z = part == "-z";
    }
    !after_z
}

/// Whether `a` (not `-o`, `-x`, `-z` or an input) may be in a probe.
fn option_allowed(a: &str) -> bool {
    if PLAIN.contains(&a) {
        return true;
    }
    if let Some(parts) = a.strip_prefix("-Wa,").or_else(|| a.strip_prefix("-Wl,")) {
        return parts_allowed(parts);
    }
    let prefixed = |list: &[&str]| list.iter().any(|d| a.starts_with(d));
    match a.get(..2).unwrap_or_default() {
        "-D" | "-U" | "-O" => true,
        "-l" => a.len() > 2,
        "-g" => a != "-gsplit-dwarf",
        "-W" => !a.starts_with("-Wp,"),
        "-f" => !prefixed(F_DENIED) && !prefixed(crate::link_store::UNNAMED_OUTPUTS),
        "-m" => !prefixed(M_DENIED),
        _ => a.starts_with("-std=") || a.starts_with("-pedantic"),
    }
}

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
    "COLUMNS",
    "LD_RUN_PATH",
    "LDEMULATION",
    "GNUTARGET",
    "DEVELOPER_DIR",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
];

/// What a compiler or linker says when it failed for a reason of the
/// moment (memory, disk, a signal, a crash), not for the line: such a
/// failure is not an answer to keep.
const PASSING_FAILURES: &[&str] = &[
    "terminated with signal",
    "internal compiler error",
    "no space left",
    "killed",
    "out of memory",
    "cannot allocate",
    "resource temporarily unavailable",
    "permission denied",
    "cannot create temporary",
    "error writing",
    "cannot open output",
    "input/output error",
    "crashed",
    "segmentation fault",
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

/// What a build asks of the compiler alone (`cc -v`, `--version`), whose
/// answer is the compiler's own: probes with no input.
const QUERIES: &[&str] = &[
    "-v",
    "--version",
    "-dumpversion",
    "-dumpfullversion",
    "-dumpmachine",
];

/// Whether `args` are a probe's line: a query of [`QUERIES`] alone; or one
/// output, the null device, inputs on stdin (`-`) or source files, and
/// every other argument one a probe may have (a list of what cannot read
/// or write a file the key misses, not of what can). Returns the input
/// files named (stdin not among them).
pub fn inputs(args: &[String]) -> Option<Vec<String>> {
    if let [only] = args
        && QUERIES.contains(&only.as_str())
    {
        return Some(Vec::new());
    }
    let (mut outputs, mut stdin, mut files) = (0, false, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-" => stdin = true,
            "-o" => {
                outputs += 1;
                if it.next()? != NULL_DEVICE {
                    return None;
                }
            }
            "-x" if LANGUAGES.contains(&it.next()?.as_str()) => {}
            "-z" if plain_word(it.next()?) => {}
            "-D" | "-U" | "-l" => {
                it.next()?;
            }
            a if a.starts_with("-o") => {
                outputs += 1;
                if &a[2..] != NULL_DEVICE {
                    return None;
                }
            }
            a if a.starts_with('-') => {
                if a == "-x" || a == "-z" || !option_allowed(a) {
                    return None;
                }
            }
            a => {
                let ext = Path::new(a).extension().and_then(|e| e.to_str());
                if !ext.is_some_and(|e| SOURCES.contains(&e)) {
                    return None;
                }
                files.push(a.to_string());
            }
        }
    }
    (outputs == 1 && (stdin || !files.is_empty())).then_some(files)
}

/// Whether a program may name another file: a word of [`NAMES_A_FILE`] in
/// any case, once line splices (`\` before a newline) are taken out.
fn names_a_file(program: &[u8]) -> bool {
    let mut joined = Vec::with_capacity(program.len());
    let mut i = 0;
    while i < program.len() {
        match (program[i], program.get(i + 1), program.get(i + 2)) {
            (b'\\', Some(b'\n'), _) => i += 2,
            (b'\\', Some(b'\r'), Some(b'\n')) => i += 3,
            (b, _, _) => {
                joined.push(b.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    NAMES_A_FILE
        .iter()
        .any(|w| joined.windows(w.len()).any(|x| x == *w))
}

/// Whether a failure (exit 1) is an answer: nothing in what the tool said
/// tells of a failure of the moment ([`PASSING_FAILURES`]).
pub fn failure_is_an_answer(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr).to_lowercase();
    !PASSING_FAILURES.iter().any(|p| text.contains(p))
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
    // The linker and assembler on PATH, and a cross toolchain's beside
    // its compiler (`avr-gcc`: `avr-as`, `avr-ld`).
    let mut programs = link_store::on_path(&["ld", "as"]);
    let name = p
        .tool
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(at) = name.rfind('-') {
        for tool in ["as", "ld"] {
            let sibling = p.tool.with_file_name(format!(
                "{}{tool}{}",
                &name[..=at],
                std::env::consts::EXE_SUFFIX
            ));
            if let Ok(meta) = std::fs::metadata(&sibling) {
                programs.push((sibling, meta));
            }
        }
    }
    for (path, meta) in programs {
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
    let mut programs: Vec<Vec<u8>> = Vec::new();
    if p.args.iter().any(|a| a == "-") {
        programs.push(p.stdin?.to_vec());
    }
    for f in &files {
        programs.push(std::fs::read(p.cwd.join(f)).ok()?);
    }
    for program in &programs {
        if names_a_file(program) {
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

/// Keeps the answer of a probe that ended normally: 0, or 1 when the
/// failure is an answer ([`failure_is_an_answer`]).
pub fn keep(store: &Path, key: &str, code: i32, replay: &Replay) -> io::Result<()> {
    let answer = code == 0 || (code == 1 && failure_is_an_answer(&replay.stderr));
    if !answer {
        return Ok(());
    }
    let code = code.to_string();
    let files = [
        ("code", code.as_bytes()),
        ("stdout", &replay.stdout[..]),
        (link_store::USED, &replay.stderr[..]),
    ];
    link_store::write_entry(store, key, &[], &files)
}

#[cfg(test)]
#[path = "probe_store_tests.rs"]
mod tests;
