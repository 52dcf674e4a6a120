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
    let key = |s: &str| key_flag(&args(s), dir.path(), &[], None).unwrap();
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
    let key = || key_flag(&link, dir.path(), &dirs, None).expect("libm is the toolchain's");
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
    assert_ne!(key_flag(&link, other.path(), &dirs, None), Some(key()));
    // A library in none of the folders: ld would search its own.
    assert_eq!(
        key_flag(&args("a.o -o prog -lnothere"), dir.path(), &dirs, None),
        None
    );
}

#[test]
fn only_a_toolchains_own_folders_are_walked_for_multilib_variants() {
    use crate::link_folders::system_library_folder;
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

/// The walk remembered in the link store gives the key a fresh walk gives,
/// whatever changed in the folders between links: libraries added (with
/// the folder's mtime put back, as `tar x` does), removed, reached through
/// a link, folders added and removed, a damaged file.
#[cfg(unix)]
#[test]
fn a_remembered_walk_gives_the_key_of_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    for d in ["avr25", "avr5", "avr5/tiny-stack", "avr6", "sub"] {
        std::fs::create_dir_all(lib.join(d)).unwrap();
    }
    std::fs::write(lib.join("avr5/libm.a"), "m").unwrap();
    std::fs::write(lib.join("sub/libx.a"), "x").unwrap();
    let dirs = vec![std::fs::canonicalize(&lib).unwrap()];
    let memo = || -> Option<std::path::PathBuf> {
        std::fs::read_dir(store.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
    };
    let remembered = |line: &str| key_flag(&args(line), dir.path(), &dirs, Some(store.path()));
    // Links come later than the last change: the file system's clock (the
    // ctime of a file written now) passes every folder's ctime first, so
    // the walk is remembered (a walk in the tick of a change is not).
    let later = || {
        let newest = walkdir(&lib)
            .iter()
            .map(|d| crate::link_folders::stamp(d).ctime)
            .max()
            .unwrap();
        let probe = store.path().join("clock");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            std::fs::write(&probe, "").unwrap();
            if crate::link_folders::stamp(&probe).ctime > newest {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the clock stands still"
            );
        }
        std::fs::remove_file(&probe).unwrap();
    };
    let check = |line: &str, what: &str| {
        later();
        let fresh = key_flag(&args(line), dir.path(), &dirs, None);
        assert_eq!(remembered(line), fresh, "{what}: {line}");
        assert!(memo().is_some(), "{what}: the walk is remembered");
        assert_eq!(remembered(line), fresh, "{what}, from the file: {line}");
        fresh
    };
    let first = check("a.o -o prog -lm", "first walk").expect("libm found");
    // The file is read: a library it names otherwise gives another key.
    let file = memo().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    json["libraries"]["m"]["files"][0] = lib.join("sub/libx.a").to_string_lossy().into();
    std::fs::write(&file, json.to_string()).unwrap();
    assert_ne!(remembered("a.o -o prog -lm"), Some(first.clone()));
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        check("a.o -o prog -lm", "walked again"),
        Some(first.clone())
    );
    // A library of the same name in an earlier folder (ld takes that one),
    // the folder's mtime put back as an archive's extraction does.
    let avr25 = lib.join("avr25");
    let mtime = std::fs::metadata(&avr25).unwrap().modified().unwrap();
    std::fs::write(avr25.join("libm.a"), "other m").unwrap();
    std::fs::File::open(&avr25)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let earlier = check("a.o -o prog -lm", "earlier libm, mtime restored");
    assert_ne!(earlier, Some(first));
    // A link to nothing before the library, then its target made.
    let elsewhere = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(elsewhere.join("libq.a"), avr25.join("libq.a")).unwrap();
    std::fs::write(lib.join("avr6/libq.a"), "q").unwrap();
    let through_avr6 = check("a.o -o prog -lq", "dangling link");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("libq.a"), "linked q").unwrap();
    assert_ne!(check("a.o -o prog -lq", "link's target made"), through_avr6);
    // A library removed: no longer found.
    std::fs::remove_file(lib.join("avr6/libq.a")).unwrap();
    std::fs::remove_file(avr25.join("libq.a")).unwrap();
    assert_eq!(check("a.o -o prog -lq", "removed"), None);
    // A new multilib folder with a library only it has.
    std::fs::create_dir_all(lib.join("avr7")).unwrap();
    std::fs::write(lib.join("avr7/libextra.a"), "x").unwrap();
    assert!(check("a.o -o prog -lextra", "new folder").is_some());
    // A folder removed under a deeper one.
    std::fs::remove_dir(lib.join("avr5/tiny-stack")).unwrap();
    check("a.o -o prog -lm", "folder removed");
    // A name with a folder in it is looked up every time, not kept.
    check("a.o -o prog -l:sub/libx.a", "a name with a folder");
    let kept = std::fs::read_to_string(memo().unwrap()).unwrap();
    assert!(!kept.contains("sub/libx.a\":"), "{kept}");
    // A damaged file is walked again.
    std::fs::write(memo().unwrap(), "{not json").unwrap();
    check("a.o -o prog -lm", "damaged file");
    let left: Vec<_> = std::fs::read_dir(store.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "one file, no temporary left: {left:?}");
    assert_eq!(
        crate::link_store::figures(store.path()).0,
        0,
        "not an entry of the store"
    );
}

/// `dir` and every folder under it.
#[cfg(unix)]
fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walkdir(&e.path()));
        }
    }
    out
}
