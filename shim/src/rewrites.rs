//! The one place where the shim changes what it was asked to run. Each
//! entry has its reason; nothing else is rewritten. Arguments otherwise
//! pass through byte for byte.
//!
//! | what | change | why |
//! |---|---|---|
//! | `-MP` with `-MD`/`-MMD` (and `-MF` or `-o`) | removed before zccache; after a successful compile the shim appends the phony targets to the depfile exactly as the compiler would | zccache 1.15.8 never caches a compile that carries `-MP` (measured: every call misses), and real projects (zstd, automake output) pass it |
//! | an argument or the working directory that is not UTF-8 | zccache is skipped | zccache 1.15.8 panics on them (exit 101, measured with a `\xff` directory name) |
//! | variables or PATH entries that are not UTF-8 | left out of zccache's environment (the real tool alone gets them all) | the same panic (measured); see `fbuild_core::zccache_env` |
//! | an input file `-` (source on stdin) | zccache is skipped | zccache 1.15.8 runs the compile in its daemon, which does not get the caller's stdin (measured: the compile sees empty input) |
//! | `ar` with neither `D` nor `U`, writing a new archive | `D` added to its modifiers before zccache or fbuild's link store (`fbuild_core::link_store`, where links and archives go by default) | zccache 1.15.8 caches only archives asked with `D` (without it: a warning on every call); an archive from the cache must be the same bytes every time, or every link that takes it misses (Debian's `avr-ar` writes dates by default: Arduino.mk's LTO link, the whole code generation, missed every build). Debian's `ar` writes these bytes anyway (`D` is its default); with a `U`-default `ar` the members' dates and ids read 0 |
//! | a `-flto` compile with `-o` and no `-frandom-seed` | `-frandom-seed=<output>` added before zccache (`fbuild_core::lto_seed`) | GCC seeds LTO objects randomly: the same compile wrote other bytes each time (a compile zccache does not cache, Arduino.mk's `.ino`), so the LTO link taking it, the whole code generation, never hit |
//! | `ar` with `u` (replace only newer members) writing a new archive | `u` removed (it changes nothing in an archive that is not there yet) before zccache or the link store; into an existing archive the call runs `ar` itself | zccache 1.15.8 fails `ar rcuD` ("failed to materialize archive output", measured); Lua's Makefile archives with `ar rcu` |
//! | `ar` with `U` | zccache is skipped | the user asked for real dates, which a cache cannot give back |
//! | a link with a library in a `-L` folder of its line, a linker script, `@file`, `-specs=`, `-B`, `-Xlinker`, a search or a file inside `-Wl,` other than a version script or dynamic list (whose contents, like a versioned shared library's, a driver's fingerprint carries) (`fbuild_core::link_inputs`); `ld` with any `-l` | zccache is skipped | zccache 1.15.8 keys a link by the files its line names: `cc m.o -L. -lf` with a changed `libf.a` came back from its cache linked with the old one (measured) |
//! | a compiler driver's link | `-D__FBUILD_TOOLCHAIN_LIBS=<fingerprint>` added before zccache (without a fingerprint from the coordinator, zccache is skipped) | the driver adds the toolchain's own files (`crt1.o`, `libgcc.a`, `libc.a`, `-lm`'s `libm.a`), which zccache does not key: the fingerprint of their folders is; a driver ignores a define when it only links |
//! | `ar` into an archive that already exists, or with a position or count modifier (`a`, `b`, `i`, `N`), a thin archive or full paths (`T`, `P`) | zccache is skipped | zccache 1.15.8 keys an archive by the listed members only: `ar rcsD lib.a m.o` into a `lib.a` that holds `a.o` came back from its cache as an archive of `m.o` alone (measured), so an incremental archive would lose members |
//! | a compile or link whose stderr is a terminal, with no colour flag of the user's (`-f[no-]diagnostics-color…`, `-f[no-]color-diagnostics`) `GCC_COLORS` not set empty and `NO_COLOR` not set | `-fdiagnostics-color=always` added before zccache, when the coordinator's probe says the compiler takes it | the cache runs the compiler with a pipe for its stderr: GCC colours nothing, and a hit would replay no colours (ccache does the same) |
//! | a compiler driver's call that compiles one source and links it (`cc -O2 -o prog prog.c -lm`), every word of its line one `fbuild_core::one_step` knows the step of | split (`one_step`): the source compiled with `-c` to a temporary object through zccache, then that object linked through the link store, keyed by the line as given, the source, the toolchain's fingerprint and the object's bytes | neither cache takes the one call (the headers its source reads are in no link key: zstd's `have_pthread`, autoconf's `conftest`, ~60 ms each at every make); GCC's driver runs these two steps itself (measured: the same bytes, with and without `-g`) |
//! | a nested call: under a compiler driver (`COLLECT_GCC` set, e.g. collect2 running `ld` found on PATH), under zccache (`ZCCACHE_DAEMON_PID`, `ZCCACHE_CLIENT_PID` or `ZCCACHE_LINEAGE` set) or inside another shimmed tool (`FBUILD_SHIM_DEPTH` > 0) | zccache and the coordinator are skipped: the real tool runs directly | the outer compile or link is already cached, and a link that zccache 1.15.8 runs deadlocks when it calls back into zccache (measured: `c++` with the shim dir first on PATH hung ~60 s, then failed) |

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use fbuild_core::link_inputs::{self, Linker};
use fbuild_core::zwire::{self, Kind};
use fbuild_platforms::ToolClass;

/// The command after the rewrites, and what to do around it.
#[derive(Debug)]
pub struct Prepared {
    /// Arguments as the user gave them.
    pub original: Vec<OsString>,
    /// Arguments for the zccache path (may differ from `original`).
    pub for_zccache: Vec<OsString>,
    /// `original` as text, for the decisions that read it (empty when an
    /// argument is not UTF-8: then zccache is skipped anyway).
    pub text: Vec<String>,
    /// zccache may be put in front (otherwise: the real tool alone).
    pub use_zccache: bool,
    /// `-MP` was removed: add phony targets to this depfile after success.
    pub phony_depfile: Option<PathBuf>,
    /// What the daemon is asked for: a compile, or a link or archive (as
    /// zccache's own wrapper tells them apart).
    pub kind: Kind,
    /// Colours wanted through the cache (see the table).
    pub wants_color: bool,
    /// A compiler driver's link: through the cache only with the key of
    /// its toolchain's library folders (`fbuild_core::link_inputs`).
    pub needs_link_key: bool,
    /// An `ar` call (its first argument the modifiers, then the archive).
    pub archive: bool,
    /// A `ranlib` of this one archive (from the link store only: it
    /// rewrites its input, which no zccache key follows).
    pub ranlib: Option<PathBuf>,
    /// A compiler driver (`cc`, `c++`) called by a build, not nested.
    pub driver: bool,
}

/// `nested`: see the table (a call under a compiler driver or a shim).
pub fn prepare(class: ToolClass, args: Vec<OsString>, nested: bool, cwd: &Path) -> Prepared {
    let text: Option<Vec<String>> = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect();
    let readable = cwd.to_str().is_some() && text.is_some();
    let mut prepared = Prepared {
        for_zccache: args.clone(),
        text: text.unwrap_or_default(),
        original: args,
        use_zccache: !nested && readable,
        phony_depfile: None,
        kind: Kind::Compile,
        wants_color: false,
        needs_link_key: false,
        archive: class == ToolClass::Ar,
        ranlib: None,
        driver: false,
    };
    if !prepared.use_zccache {
        return prepared;
    }
    match class {
        ToolClass::C | ToolClass::Cxx => {
            prepared.driver = true;
            if prepared.original.iter().any(|a| a == "-") {
                prepared.use_zccache = false;
            } else if let Some(depfile) = mp_depfile(&prepared.original) {
                prepared.for_zccache.retain(|a| a != "-MP");
                prepared.phony_depfile = Some(depfile);
            }
            let text = &prepared.text;
            if zwire::driver_links(text, cwd) {
                prepared.kind = Kind::Link;
                prepared.use_zccache &= link_inputs::cacheable(text, cwd, Linker::Driver);
                prepared.needs_link_key = true;
            } else if let Some(seed) = fbuild_core::lto_seed::seed_flag(text, cwd) {
                prepared.for_zccache.push(seed.into());
            }
            prepared.wants_color =
                std::io::stderr().is_terminal() && fbuild_core::console::colour_left_to_us(text);
        }
        ToolClass::Ar => {
            prepared.kind = Kind::Link;
            match fresh_archive(&prepared.original, cwd) {
                Some(args) => prepared.for_zccache = args,
                None => prepared.use_zccache = false,
            }
        }
        ToolClass::Ld => {
            prepared.kind = Kind::Link;
            prepared.use_zccache &= link_inputs::cacheable(&prepared.text, cwd, Linker::Ld);
        }
        ToolClass::Ranlib => {
            prepared.kind = Kind::Link;
            prepared.ranlib = ranlib_archive(&prepared.text, cwd);
            prepared.use_zccache = prepared.ranlib.is_some();
        }
    }
    prepared
}

/// The archive of `ranlib [-D] ARCHIVE`, a regular archive that is there;
/// `None` for anything else (other options, several archives, `@file`, a
/// thin archive, whose members ranlib reads from their own files): run
/// alone.
fn ranlib_archive(text: &[String], cwd: &Path) -> Option<PathBuf> {
    let (archive, options) = text.split_last()?;
    let plain = !archive.starts_with(['-', '@']) && options.iter().all(|o| o == "-D");
    let path = PathBuf::from(archive);
    (plain && fbuild_core::ranlib_store::is_regular_archive(&cwd.join(&path))).then_some(path)
}

/// The arguments of an `ar` call writing a new archive, `D` added
/// (`link_inputs::archive_modifiers`), when the archive it names is not
/// there yet; `None`: not for the cache.
fn fresh_archive(args: &[OsString], cwd: &Path) -> Option<Vec<OsString>> {
    let archive = args.get(1)?.to_str()?;
    if archive.starts_with(['-', '@']) || cwd.join(archive).exists() {
        return None;
    }
    // `u` (replace only newer members) changes nothing in an archive that
    // is not there yet (see the table).
    let first = args.first()?.to_str()?;
    let first = match first.strip_prefix('-') {
        Some(letters) => format!("-{}", letters.replace('u', "")),
        None => first.replace('u', ""),
    };
    let modifiers = link_inputs::archive_modifiers(&first)?;
    let mut out = args.to_vec();
    out[0] = modifiers.into();
    Some(out)
}

/// The depfile a compile with `-MP` writes, when the shim can know it for
/// sure: `-MD`/`-MMD` given, no `-M`/`-MM` (those print to stdout), and
/// either `-MF FILE` or `-o OUT` (then `OUT` with its extension replaced
/// by `.d`, as GCC does). `None`: leave the command alone.
fn mp_depfile(args: &[OsString]) -> Option<PathBuf> {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if !has("-MP") || !(has("-MD") || has("-MMD")) || has("-M") || has("-MM") {
        return None;
    }
    if args.iter().any(|a| a.to_string_lossy().starts_with('@')) {
        return None; // a response file may hold more flags than we can see
    }
    if let Some(file) = value_of(args, "-MF") {
        return Some(PathBuf::from(file));
    }
    let out = PathBuf::from(value_of(args, "-o")?);
    Some(out.with_extension("d"))
}

/// The value of `flag` given as `flag VALUE` or `flagVALUE`.
fn value_of<'a>(args: &'a [OsString], flag: &str) -> Option<&'a OsStr> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().map(|v| v.as_os_str());
        }
        let bytes = a.as_encoded_bytes();
        if let Some(rest) = bytes.strip_prefix(flag.as_bytes())
            && !rest.is_empty()
            && flag != "-o"
        {
            // SAFETY: `rest` is a suffix of a valid OsStr split after an
            // ASCII prefix, so it is itself valid encoded bytes.
            return Some(unsafe { OsStr::from_encoded_bytes_unchecked(rest) });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn prep(class: ToolClass, s: &str) -> Prepared {
        prepare(class, args(s), false, Path::new("/tmp"))
    }

    #[test]
    fn mp_is_removed_only_when_the_depfile_is_known() {
        let p = prep(ToolClass::C, "-MMD -MP -c a.c -o obj/a.o");
        assert_eq!(p.for_zccache, args("-MMD -c a.c -o obj/a.o"));
        assert_eq!(p.phony_depfile, Some(PathBuf::from("obj/a.d")));
        assert_eq!(p.original, args("-MMD -MP -c a.c -o obj/a.o"));

        let p = prep(ToolClass::C, "-MD -MP -MF deps/a.dep -c a.c -o a.o");
        assert_eq!(p.phony_depfile, Some(PathBuf::from("deps/a.dep")));
        let p = prep(ToolClass::C, "-MD -MP -MFdeps/a.dep -c a.c -o a.o");
        assert_eq!(p.phony_depfile, Some(PathBuf::from("deps/a.dep")));

        for untouched in [
            "-MP -c a.c -o a.o",
            "-MM -MP a.c",
            "-MMD -MP -c a.c",
            "-MMD -MP @rsp",
        ] {
            let p = prep(ToolClass::C, untouched);
            assert_eq!(p.for_zccache, args(untouched), "{untouched}");
            assert_eq!(p.phony_depfile, None);
        }
    }

    #[test]
    fn nested_calls_skip_zccache() {
        let p = prepare(ToolClass::Ld, args("-o prog a.o"), true, Path::new("/tmp"));
        assert!(!p.use_zccache);
        assert_eq!(p.original, args("-o prog a.o"));
    }

    #[test]
    fn stdin_and_nondeterministic_ar_skip_zccache() {
        assert!(!prep(ToolClass::C, "-x c - -o x").use_zccache);
        assert!(prep(ToolClass::C, "-c a.c").use_zccache);
        let default_d = prep(ToolClass::Ar, "rcs lib.a a.o");
        assert!(default_d.use_zccache);
        assert_eq!(default_d.for_zccache[0], "rcsD");
        assert_eq!(default_d.original[0], "rcs");
        let asked = prep(ToolClass::Ar, "rcsD lib.a a.o");
        assert!(asked.use_zccache);
        assert_eq!(asked.for_zccache[0], "rcsD");
        assert!(!prep(ToolClass::Ar, "rcsU lib.a a.o").use_zccache);
        let fresh_u = prep(ToolClass::Ar, "rcu lib.a a.o");
        assert!(fresh_u.use_zccache, "u on a new archive");
        assert_eq!(fresh_u.for_zccache[0], "rcD");
        assert_eq!(fresh_u.original[0], "rcu");
        assert!(!prep(ToolClass::Ar, "-r -c -s lib.a a.o").use_zccache);
        assert!(!prep(ToolClass::Ar, "--thin rcs lib.a a.o").use_zccache);
        assert!(prep(ToolClass::Ar, "-rcs lib.a a.o").use_zccache);
        assert!(!prep(ToolClass::Ar, "--plugin p.so rcs lib.a a.o").use_zccache);
        assert!(prep(ToolClass::Ld, "-r a.o -o b.o").use_zccache);
    }

    #[test]
    fn links_and_archives_are_links_and_an_existing_archive_is_left_alone() {
        assert_eq!(prep(ToolClass::C, "-c a.c -o a.o").kind, Kind::Compile);
        assert_eq!(prep(ToolClass::C, "-E a.c").kind, Kind::Compile);
        assert_eq!(prep(ToolClass::C, "-MM a.c").kind, Kind::Compile);
        assert_eq!(prep(ToolClass::Cxx, "a.o b.o -o prog").kind, Kind::Link);
        assert_eq!(prep(ToolClass::C, "-shared a.o -o x.so").kind, Kind::Link);
        assert_eq!(prep(ToolClass::Ld, "-o prog a.o").kind, Kind::Link);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rsp"), "-c a.c -o a.o\n").unwrap();
        let p = prepare(ToolClass::C, args("@rsp"), false, dir.path());
        assert_eq!(p.kind, Kind::Compile);
        let ar = |s: &str| prepare(ToolClass::Ar, args(s), false, dir.path());
        assert!(ar("rcsD lib.a a.o").use_zccache);
        assert_eq!(ar("rcsD lib.a a.o").kind, Kind::Link);
        std::fs::write(dir.path().join("lib.a"), "!<arch>\n").unwrap();
        assert!(!ar("rcsD lib.a a.o").use_zccache, "an existing archive");
        assert!(!ar("rcsDb x.o new.a a.o").use_zccache, "a position");
        assert!(!ar("@flags new.a a.o").use_zccache);
        // ranlib: one archive that is there, `-D` at most.
        let ranlib = |s: &str| prepare(ToolClass::Ranlib, args(s), false, dir.path()).ranlib;
        assert_eq!(ranlib("lib.a"), Some(PathBuf::from("lib.a")));
        assert_eq!(ranlib("-D lib.a"), Some(PathBuf::from("lib.a")));
        for alone in [
            "-t lib.a",
            "-U lib.a",
            "@flags",
            "missing.a",
            "lib.a lib.a",
            "-D",
        ] {
            assert_eq!(ranlib(alone), None, "{alone}");
        }
        let nested = prepare(ToolClass::Ranlib, args("lib.a"), true, dir.path());
        assert!(!nested.use_zccache && nested.ranlib.is_none());
    }
}
