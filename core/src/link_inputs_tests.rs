use std::time::UNIX_EPOCH;

use super::*;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn only_lines_the_key_covers_are_cacheable() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["libf.a", "v.map", "a.o", "old.map"] {
        std::fs::write(dir.path().join(f), "").unwrap();
    }
    std::fs::write(dir.path().join("libx.so"), "INPUT(-lc)\n").unwrap();
    std::fs::write(dir.path().join("libt.a"), "!<thin>\n/\n").unwrap();
    let ok = |s: &str| cacheable(&args(s), dir.path(), Linker::Driver);
    assert!(ok(
        "a.o b.o -o prog -Wl,-Map,old.map -Wl,--gc-sections -Wl,-rpath,/usr"
    ));
    assert!(
        ok("a.o -o prog -lm"),
        "-lm: the toolchain's, checked by key_flag"
    );
    assert!(ok("a.o -o prog -L. -lm"), "no libm in .");
    assert!(ok("a.o lib.a -shared -o x.so -O2 -flto"));
    for bad in [
        "a.o -o prog -L. -lf",
        "a.o -o prog -L . -l f",
        "a.o -o prog -L. -l:libf.a",
        "main.c a.o -o prog",
        "a.o libx.so -o prog",
        "a.o -o prog -Wl,--whole-archive,libf.a,--no-whole-archive",
        "a.o -o prog -T x.ld",
        "a.o -o prog -Wl,-T,x.ld",
        "a.o -o prog @rsp",
        "a.o -o prog -Wl,-L.,-lf",
        "a.o libt.a -o prog",
        "a.o -o prog -Wl,-rpath-link,/x",
        "a.o -o prog -Wl,--rpath-link=/x",
        "a.o -o prog -specs=nano.specs",
        "a.o -o prog -B/x",
        "a.o -o prog -Xlinker -lf",
        "a.o -o prog --sysroot=/x",
        "a.o -o prog -fuse-ld=lld",
        "a.o -o prog -L=/x -lf",
        "--compile a.c -o a.o",
        "a.o -m32 -o prog",
        "-dumpversion",
        "-print-search-dirs",
        "-o prog",
    ] {
        assert!(!ok(bad), "{bad}");
    }
}

/// A versioned shared library and a version script are dropped by
/// zccache's key: a driver's line carries their contents in its
/// fingerprint, `ld`'s cannot.
#[test]
fn files_the_key_drops_go_by_content_in_a_drivers_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let put = |f: &str, bytes: &[u8]| std::fs::write(dir.path().join(f), bytes).unwrap();
    put("a.o", b"");
    put("libz.so.1.2.13", b"\x7fELF one");
    put("libt.so.1", b"INPUT(-lc)\n");
    put("v.map", b"{ global: f; local: *; };\n");
    let driver = |s: &str| cacheable(&args(s), dir.path(), Linker::Driver);
    let ld = |s: &str| cacheable(&args(s), dir.path(), Linker::Ld);
    for line in [
        "a.o libz.so.1.2.13 -o prog",
        "a.o -o prog -Wl,--version-script=v.map",
        "a.o -shared -o x.so -Wl,-soname,x.so.1 -Wl,--version-script,v.map",
        "a.o -o prog -Wl,--dynamic-list=v.map",
        "a.o -z noexecstack -o prog",
        "a.o -o prog -Wl,-version-script=v.map",
    ] {
        assert!(driver(line), "{line}");
        assert!(!ld(line), "ld: {line}");
    }
    assert!(driver("a.o -o prog -lm") && !ld("a.o -o prog -lm"));
    assert!(ld("a.o -o prog"));
    for bad in [
        "a.o libt.so.1 -o prog",
        "a.o libz.so.1.x -o prog",
        "a.o -o prog -Wl,--version-script=missing.map",
        "a.o -o prog -Wl,--version-script",
        "a.o -o prog -Wl,-script=v.map",
        "a.o -o prog -Wl,-dT,v.map",
    ] {
        assert!(!driver(bad), "{bad}");
    }
    let key = |s: &str| key_flag(&args(s), dir.path(), &[]).unwrap();
    let line = "a.o libz.so.1.2.13 -o prog -Wl,--version-script,v.map";
    let before = key(line);
    put("v.map", b"{ global: f; g; local: *; };\n");
    let script_changed = key(line);
    assert_ne!(script_changed, before, "the version script changed");
    put("libz.so.1.2.13", b"\x7fELF two");
    assert_ne!(key(line), script_changed, "the library changed");
    // The output of the last build is not an input.
    let shared = "a.o -shared -o libz.so.1.2.13";
    let before = key(shared);
    put("libz.so.1.2.13", b"\x7fELF three");
    assert_eq!(key(shared), before, "the output went into the key");
    assert_ne!(
        key("a.o -z now -o prog"),
        key("a.o -z lazy -o prog"),
        "a -z keyword"
    );
}

#[test]
fn the_key_follows_folders_files_libraries_and_the_folder_linked_in() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let multilib = lib.join("thumb/v7e-m+fp/hard");
    std::fs::create_dir_all(&multilib).unwrap();
    std::fs::write(multilib.join("libm.a"), "1").unwrap();
    let text = format!("install: /x\nlibraries: ={}\n", lib.display());
    let dirs = library_dirs(&text);
    assert_eq!(dirs, vec![std::fs::canonicalize(&lib).unwrap()]);
    let link = args("a.o -o prog -lm");
    let key = || key_flag(&link, dir.path(), &dirs).expect("libm is the toolchain's");
    let before = key();
    assert!(before.starts_with("-D__FBUILD_TOOLCHAIN_LIBS="));
    assert_eq!(key(), before);
    // libm.a copied over in place (its folder's mtime kept).
    let old = UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    let keep = |p: &Path| {
        std::fs::File::open(p)
            .and_then(|f| f.set_modified(old))
            .unwrap()
    };
    for d in ["", "thumb", "thumb/v7e-m+fp", "thumb/v7e-m+fp/hard"] {
        keep(&lib.join(d));
    }
    let settled = key();
    std::fs::write(multilib.join("libm.a"), "22").unwrap();
    keep(&multilib);
    assert_ne!(key(), settled, "a library changed in place");
    // Elsewhere, the same line is another key.
    let other = tempfile::tempdir().unwrap();
    assert_ne!(key_flag(&link, other.path(), &dirs), Some(key()));
    // A library in none of the folders: ld would search its own.
    assert_eq!(
        key_flag(&args("a.o -o prog -lnothere"), dir.path(), &dirs),
        None
    );
}

#[test]
fn only_a_toolchains_own_folders_are_walked_for_multilib_variants() {
    use crate::link_fingerprint::system_library_folder;
    for system in [
        "/usr/lib",
        "/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/local/lib",
    ] {
        assert!(system_library_folder(Path::new(system)), "{system}");
    }
    for toolchain in [
        "/usr/lib/arm-none-eabi/newlib",
        "/usr/lib/gcc/arm-none-eabi/12.2.1",
        "/usr/lib/gcc/x86_64-linux-gnu/12",
        "/opt/avr/lib",
        "/usr/libexec",
    ] {
        assert!(!system_library_folder(Path::new(toolchain)), "{toolchain}");
    }
}
