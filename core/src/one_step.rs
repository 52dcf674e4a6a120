//! A compiler driver's call that compiles one source and links it at once
//! (`cc -O2 -o have_pthread have_pthread.c -pthread`, autoconf's
//! `conftest`), split in the two steps GCC's driver runs anyway: a compile
//! of the source to an object (through zccache, whose key follows the
//! headers it reads) and a link of that object (through the link store,
//! keyed by the object's bytes). Neither cache takes the one call: its
//! headers are in no link key.
//!
//! [`split`] takes only lines whose every word it knows the step of:
//! options of the compile alone (`-I`, `-D`, `-std=`, warnings) leave the
//! link's line, options of the link alone (`-l`, `-L`, `-Wl,`, `-z`,
//! `-static`, objects and libraries) leave the compile's, and the others
//! (`-O`, `-g`, `-f…`, `-m…`, `-pthread`) go to both, as the driver passes
//! them. A line with anything else — a second source, `-x`, a depfile, LTO
//! (the link is the code generation), coverage or dumps (files named after
//! the object), a response file — is not split: the caller runs it whole.

use std::path::Path;

use crate::probe_store::SOURCES;

/// Options of the compile alone; with a value after them when given
/// bare (`-I dir`).
const COMPILE_ONLY_VALUED: &[&str] = &[
    "-I",
    "-D",
    "-U",
    "-include",
    "-isystem",
    "-iquote",
    "-idirafter",
];
/// Options of the compile alone, by prefix (`-Wa,`/`-Wp,` parts go to
/// the assembler or preprocessor of the compile).
const COMPILE_ONLY_PREFIX: &[&str] = &["-std=", "-W", "-pedantic", "-ansi"];
/// Options of the link alone; with a value after them when given bare.
const LINK_ONLY_VALUED: &[&str] = &["-l", "-L"];
/// Options of the link alone, whole.
const LINK_ONLY: &[&str] = &[
    "-static",
    "-static-libgcc",
    "-static-libstdc++",
    "-static-pie",
    "-shared",
    "-rdynamic",
    "-pie",
    "-no-pie",
    "-s",
    "-nostdlib",
    "-nostartfiles",
    "-nodefaultlibs",
];
/// Options for both steps, by prefix; `-f…`/`-m…`/`-g…` as
/// [`both_steps`] allows.
const BOTH_PREFIX: &[&str] = &["-O", "-pthread"];
/// `-f…` options (without `=`) that, besides the link store's
/// `UNNAMED_OUTPUTS`, write or read files named after the object or not
/// on the line, record the line (the temporary object's name would be in
/// the program), or make the link do the compile's work.
const REFUSED_F: &[&str] = &[
    "-flto",
    "-ffat-lto",
    "-fprofile",
    "-ftest-coverage",
    "-fuse-ld",
    "-fsyntax-only",
    "-ftime-trace",
    "-frecord-command-line",
    "-frecord-gcc-switches",
    "-fmodule",
    "-fimplicit-module",
    "-fcrash",
    "-fdeps",
    "-fxray",
];
/// `-f…=`/`-m…=` options whose value is no file.
const VALUED_F_M: &[&str] = &[
    "-fvisibility",
    "-fdiagnostics-color",
    "-fcolor-diagnostics",
    "-fmessage-length",
    "-fmacro-prefix-map",
    "-ffile-prefix-map",
    "-fdebug-prefix-map",
    "-fsanitize",
    "-fno-sanitize",
    "-fcf-protection",
    "-ftrivial-auto-var-init",
    "-fexcess-precision",
    "-ffp-contract",
    "-ftemplate-depth",
    "-fconstexpr-depth",
    "-fabi-version",
    "-fstack-protector",
    "-fstrict-flex-arrays",
    "-march",
    "-mtune",
    "-mcpu",
    "-mmcu",
    "-mfpu",
    "-mfloat-abi",
    "-mabi",
    "-mcmodel",
    "-mbranch-protection",
];

/// Whether `-f…`/`-m…`/`-g…` option `a` goes to both steps as the driver
/// passes it (see [`REFUSED_F`], [`VALUED_F_M`]).
fn both_steps(a: &str) -> bool {
    if a.starts_with("-g") {
        return !["split-dwarf", "record-command-line", "record-gcc-switches"]
            .iter()
            .any(|w| a.contains(w));
    }
    if !a.starts_with("-f") && !a.starts_with("-m") {
        return BOTH_PREFIX.iter().any(|o| a.starts_with(o));
    }
    match a.split_once('=') {
        Some((key, _)) => VALUED_F_M.contains(&key),
        None => !REFUSED_F
            .iter()
            .chain(crate::link_store::UNNAMED_OUTPUTS)
            .any(|r| a.starts_with(r)),
    }
}

/// Options refused anywhere on the line.
const REFUSED: &[&str] = &[
    // The preprocessor's depfile, named inside.
    "-Wp,",
];
/// Operands the link takes as they are.
const LINK_OPERANDS: &[&str] = &["o", "a", "so", "lo"];

/// A line split in two: the compile's words (`… -c SOURCE -o OBJECT`),
/// the link's (`… -o OUTPUT OBJECT …`, in the line's order), the source
/// and the output as the line names them, and the line to key the link
/// by: the line as given, a compile option's separate value joined to it
/// (`-I inc` as `-Iinc`: the link store reads every other word as an
/// input).
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub compile: Vec<String>,
    pub link: Vec<String>,
    pub source: String,
    pub output: String,
    pub keyed: Vec<String>,
}

/// Whether a program linked by `compiler` (a file name: `cc`,
/// `avr-gcc`, `x86_64-w64-mingw32-gcc`) may be split: an ELF program on
/// Linux, where nothing of the output's name or the objects' paths is
/// kept in it (MinGW adds `.exe` to an output without a dot and writes a
/// DLL's name into it; Darwin's install names and debug maps keep paths).
pub fn splits_for(compiler: &str) -> bool {
    const OTHER_FORMATS: &[&str] = &["mingw", "cygwin", "msys", "darwin", "apple", "windows"];
    cfg!(target_os = "linux") && !OTHER_FORMATS.iter().any(|f| compiler.contains(f))
}

/// Whether a `-Wl,` argument's parts all leave the output the only file
/// the link writes, name no response file, and read no file's list.
fn wl_parts_split(parts: &str) -> bool {
    parts.split(',').all(|p| {
        !p.contains('@')
            && !p.contains("Map")
            && !crate::link_store::wl_output(p)
            && p != "-o"
            && !p.starts_with("--output")
    })
}

/// `args` split with the object at `object`. `None`: not a line this
/// module splits (see its text).
pub fn split(args: &[String], object: &Path) -> Option<Split> {
    let object = object.to_str()?.to_string();
    let (mut compile, mut link, mut keyed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut source, mut output) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let valued = |list: &[&str]| list.contains(&a.as_str());
        if valued(COMPILE_ONLY_VALUED) {
            let value = it.next()?;
            compile.extend([a.clone(), value.clone()]);
            keyed.push(format!("{a}{value}"));
            continue;
        }
        keyed.push(a.clone());
        if a == "-o" {
            if output.is_some() {
                return None; // the last one wins: a file the store would name
            }
            output = Some(it.next()?.clone());
            link.extend([a.clone(), output.clone()?]);
            keyed.push(output.clone()?);
        } else if !a.starts_with('-') && !a.is_empty() {
            let ext = Path::new(a).extension()?.to_str()?;
            if SOURCES.contains(&ext) && source.is_none() {
                source = Some(a.clone());
                link.push(object.clone());
            } else if LINK_OPERANDS.contains(&ext) || a.contains(".so.") {
                link.push(a.clone());
            } else {
                return None;
            }
        } else if valued(LINK_ONLY_VALUED) || a == "-z" {
            let value = it.next()?;
            link.extend([a.clone(), value.clone()]);
            keyed.push(value.clone());
        } else if let Some(parts) = a.strip_prefix("-Wl,") {
            if !wl_parts_split(parts) {
                return None;
            }
            link.push(a.clone());
        } else if REFUSED.iter().any(|r| a.starts_with(r)) {
            return None;
        } else if LINK_ONLY.contains(&a.as_str())
            || LINK_ONLY_VALUED.iter().any(|o| a.starts_with(o))
        {
            link.push(a.clone());
        } else if a == "-w"
            || COMPILE_ONLY_VALUED
                .iter()
                .chain(COMPILE_ONLY_PREFIX)
                .any(|o| a.starts_with(o))
        {
            compile.push(a.clone());
        } else if both_steps(a) {
            compile.push(a.clone());
            link.push(a.clone());
        } else {
            return None;
        }
    }
    let (source, output) = (source?, output?);
    // The output named as an input too: the one call refuses it.
    if output == source || link.iter().filter(|w| **w == output).count() > 1 {
        return None;
    }
    compile.extend(["-c".into(), source.clone(), "-o".into(), object]);
    Some(Split {
        compile,
        link,
        source,
        output,
        keyed,
    })
}

/// The folder of the split's temporary objects and outputs, beside the
/// link store (`FBUILD_HOME/builds/one-step`; the coordinator prunes a
/// killed call's leftovers with the stores, `link_store::prune`).
pub fn work_dir(link_store: &Path) -> std::path::PathBuf {
    link_store.with_file_name(WORK_DIR)
}

/// [`work_dir`]'s name.
const WORK_DIR: &str = "one-step";

/// The object's part of the link's key: its bytes' sha256, in hex
/// (`None` for an empty file: the compile wrote no object there).
pub fn object_sum(object: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(object).ok().filter(|b| !b.is_empty())?;
    Some(format!("{:x}", Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn split_line(line: &str) -> Option<(String, String)> {
        split(&words(line), Path::new("/t/x.o")).map(|s| (s.compile.join(" "), s.link.join(" ")))
    }

    #[test]
    fn zstds_pthread_program_splits_in_the_drivers_two_steps() {
        let (compile, link) = split_line(
            "-O3 -DXXH_NAMESPACE=ZSTD_ -I../lib -Wall -Wextra -z noexecstack \
             -Wl,-z,relro -o have_pthread have_pthread.c -pthread -lm",
        )
        .unwrap();
        assert_eq!(
            compile,
            "-O3 -DXXH_NAMESPACE=ZSTD_ -I../lib -Wall -Wextra -pthread -c have_pthread.c -o /t/x.o"
        );
        assert_eq!(
            link,
            "-O3 -z noexecstack -Wl,-z,relro -o have_pthread /t/x.o -pthread -lm"
        );
    }

    #[test]
    fn valued_options_keep_their_value_with_them() {
        let line = "-I inc -D X=1 -L lib -l z -g -o p main.cc util.o libq.a";
        let (compile, link) = split_line(line).unwrap();
        assert_eq!(compile, "-I inc -D X=1 -g -c main.cc -o /t/x.o");
        assert_eq!(link, "-L lib -l z -g -o p /t/x.o util.o libq.a");
        let keyed = split(&words(line), Path::new("/t/x.o")).unwrap().keyed;
        assert_eq!(
            keyed.join(" "),
            "-Iinc -DX=1 -L lib -l z -g -o p main.cc util.o libq.a"
        );
    }

    #[test]
    fn options_of_both_steps_go_to_both() {
        let (compile, link) = split_line(
            "-Os -g3 -mmcu=atmega328p -fsanitize=address -fno-common -ffunction-sections \
             -o p main.c",
        )
        .unwrap();
        assert_eq!(
            compile,
            "-Os -g3 -mmcu=atmega328p -fsanitize=address -fno-common -ffunction-sections \
             -c main.c -o /t/x.o"
        );
        assert_eq!(
            link,
            "-Os -g3 -mmcu=atmega328p -fsanitize=address -fno-common -ffunction-sections \
             -o p /t/x.o"
        );
    }

    #[test]
    fn lines_the_split_would_change_are_left_whole() {
        for line in [
            "-o p a.c b.c",           // two sources
            "-x c -o p main",         // a language given
            "-o p main.c -flto",      // the link is the code generation
            "-o p main.c --coverage", // notes named after the object
            "-o p main.c -fprofile-generate",
            "-o p main.c -MD",   // a depfile named after the output
            "-o p main.c @args", // a response file
            "-o p main.c x.ld",  // a linker script
            "-o p - ",           // stdin
            "main.c",            // a.out
            "-c -o m.o main.c",  // a compile
            "-o p main.c -Wl,@more",
            "-o p main.c -gsplit-dwarf",
            "-o p main.c -save-temps",
            "-o p main.c -B/opt/bin",
            "-o p main.c --sysroot=/x",
            "-o p main.c -T script.ld",
            "-o p main.c -include", // a valued option without its value
            "-o p main.c -Wp,-MD,p.d",
            "-o p main.c -wrapper gdb",
            "-o main.c main.c", // the source overwritten
            "-o p.o main.c p.o",
            "-o a -o b main.c",           // only the last is written
            "-o p main.c -Wl,-Map=p.map", // a map file
            "-o p main.c -ftime-trace",   // a file beside the object
            "-o p main.c -fdiagnostics-format=sarif-file",
            "-o p main.c -frecord-command-line",
            "-o p main.c -grecord-command-line",
            "-o p main.c -fsanitize-ignorelist=list.txt",
            "-o p main.c -fstack-usage",
            "-o p main.c -frecord-gcc-switches",
            "-o p main.c -grecord-gcc-switches",
            "-o p main.c -Wl,--dependency-file=p.d",
            "-o p main.c -Wl,--out-implib,p.lib",
            "-o p main.c -Wl,-o,q",
        ] {
            assert_eq!(split_line(line), None, "{line}");
        }
    }
}
