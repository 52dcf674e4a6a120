//! The one place where the shim changes what it was asked to run. Each
//! entry has its reason; nothing else is rewritten. Arguments otherwise
//! pass through byte for byte.
//!
//! | what | change | why |
//! |---|---|---|
//! | `-MP` with `-MD`/`-MMD` (and `-MF` or `-o`) | removed before zccache; after a successful compile the shim appends the phony targets to the depfile exactly as the compiler would | zccache 1.15.8 never caches a compile that carries `-MP` (measured: every call misses), and real projects (zstd, automake output) pass it |
//! | an input file `-` (source on stdin) | zccache is skipped | zccache 1.15.8 runs the compile in its daemon, which does not get the caller's stdin (measured: the compile sees empty input) |
//! | `ar` without the `D` modifier | zccache is skipped | zccache 1.15.8 prints a warning on every non-deterministic archive call, and caching an archive step saves little |

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use fbuild_platforms::ToolClass;

/// The command after the rewrites, and what to do around it.
#[derive(Debug)]
pub struct Prepared {
    /// Arguments as the user gave them.
    pub original: Vec<OsString>,
    /// Arguments for the zccache path (may differ from `original`).
    pub for_zccache: Vec<OsString>,
    /// zccache may be put in front (otherwise: the real tool alone).
    pub use_zccache: bool,
    /// `-MP` was removed: add phony targets to this depfile after success.
    pub phony_depfile: Option<PathBuf>,
}

pub fn prepare(class: ToolClass, args: Vec<OsString>) -> Prepared {
    let mut prepared = Prepared {
        for_zccache: args.clone(),
        original: args,
        use_zccache: true,
        phony_depfile: None,
    };
    match class {
        ToolClass::C | ToolClass::Cxx => {
            if prepared.original.iter().any(|a| a == "-") {
                prepared.use_zccache = false;
            } else if let Some(depfile) = mp_depfile(&prepared.original) {
                prepared.for_zccache.retain(|a| a != "-MP");
                prepared.phony_depfile = Some(depfile);
            }
        }
        ToolClass::Ar => {
            let modifiers = prepared.original.first().map(|m| m.to_string_lossy().into_owned());
            if !modifiers.is_some_and(|m| !m.starts_with('@') && m.contains('D')) {
                prepared.use_zccache = false;
            }
        }
        ToolClass::Ld => {}
    }
    prepared
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

    #[test]
    fn mp_is_removed_only_when_the_depfile_is_known() {
        let p = prepare(ToolClass::C, args("-MMD -MP -c a.c -o obj/a.o"));
        assert_eq!(p.for_zccache, args("-MMD -c a.c -o obj/a.o"));
        assert_eq!(p.phony_depfile, Some(PathBuf::from("obj/a.d")));
        assert_eq!(p.original, args("-MMD -MP -c a.c -o obj/a.o"));

        let p = prepare(ToolClass::C, args("-MD -MP -MF deps/a.dep -c a.c -o a.o"));
        assert_eq!(p.phony_depfile, Some(PathBuf::from("deps/a.dep")));
        let p = prepare(ToolClass::C, args("-MD -MP -MFdeps/a.dep -c a.c -o a.o"));
        assert_eq!(p.phony_depfile, Some(PathBuf::from("deps/a.dep")));

        for untouched in ["-MP -c a.c -o a.o", "-MM -MP a.c", "-MMD -MP -c a.c", "-MMD -MP @rsp"] {
            let p = prepare(ToolClass::C, args(untouched));
            assert_eq!(p.for_zccache, args(untouched), "{untouched}");
            assert_eq!(p.phony_depfile, None);
        }
    }

    #[test]
    fn stdin_and_nondeterministic_ar_skip_zccache() {
        assert!(!prepare(ToolClass::C, args("-x c - -o x")).use_zccache);
        assert!(prepare(ToolClass::C, args("-c a.c")).use_zccache);
        assert!(!prepare(ToolClass::Ar, args("rcs lib.a a.o")).use_zccache);
        assert!(prepare(ToolClass::Ar, args("rcsD lib.a a.o")).use_zccache);
        assert!(prepare(ToolClass::Ld, args("-r a.o -o b.o")).use_zccache);
    }
}
