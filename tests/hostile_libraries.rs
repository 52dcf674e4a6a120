//! Hostile and broken libraries (issue 29): nothing a library names leaves
//! its folder — its name, its links (followed, in archives and git
//! checkouts alike), its `srcDir`/`includeDir` — link loops end, an
//! archive or git tree that expands past the limits is refused. Archives
//! are made here by Python's tarfile and zipfile and served on loopback.
//! Git refs and lock pins: `tests/hostile_pins.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::hostile::*;
use common::http::TestServer;
use common::*;

/// Files written under `dir` whose path contains `needle`.
fn files_named(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if p.to_string_lossy().contains(needle) {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn a_library_name_never_leads_out_of_the_build_folder() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("outside");
    let proj = project(work.path(), &[]);
    let lib = proj.join("lib/Escape");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    let name = format!("../../../../../../..{}/x", outside.display());
    std::fs::write(
        lib.join("library.properties"),
        format!("name={name}\nversion=1.0.0\n"),
    )
    .unwrap();
    std::fs::write(lib.join("src/Escape.h"), "int escape(void);\n").unwrap();
    std::fs::write(lib.join("src/Escape.c"), "int escape(void) { return 1; }\n").unwrap();
    std::fs::write(
        proj.join("src/main.c"),
        "#include <Escape.h>\nint main(void) { return escape() - 1; }\n",
    )
    .unwrap();
    let out = build(&home, &proj, &[]);
    assert_ok(&out);
    assert!(
        !outside.exists(),
        "a library's name wrote outside: {}",
        outside.display()
    );
    let objects = files_named(&proj.join(".fbuild/build/native/lib"), "Escape.c.o");
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert!(
        Command::new(proj.join(".fbuild/build/native/program"))
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn links_that_escape_once_followed_are_refused_in_archives_and_git() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    // Each link passes a lexical check of its own entry (7 folders deep,
    // 6 up); followed, the second leads from the staging folder into the
    // home: `FBUILD_HOME/coordinator/coordinator.json`.
    tarball(
        &served.join("chain.tar.gz"),
        "add('Lib/a', kind=tarfile.DIRTYPE)\n\
         add('Lib/a/b', kind=tarfile.DIRTYPE)\n\
         add('Lib/a/b/c', kind=tarfile.DIRTYPE)\n\
         add('Lib/a/b/c/l', kind=tarfile.SYMTYPE, link='../../..')\n\
         add('Lib/a/b/c/l/x', kind=tarfile.DIRTYPE)\n\
         add('Lib/a/b/c/l/x/src', kind=tarfile.DIRTYPE)\n\
         add('Lib/a/b/c/l/x/src/Leak.h', kind=tarfile.SYMTYPE, link='../../../../../../coordinator/coordinator.json')",
    );
    let server = TestServer::serve(&served);
    let proj = project(work.path(), &[format!("{}/chain.tar.gz", server.url())]);
    let out = build(&home, &proj, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("src/Leak.h") && err.contains("outside the package"),
        "{err}"
    );
    assert!(store(&home).is_empty(), "stored: {:?}", store(&home));

    // A git checkout with a link to /etc/hostname.
    let repo = work.path().join("git/Leaky");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("library.properties"),
        "name=Leaky\nversion=1.0.0\n",
    )
    .unwrap();
    std::fs::write(repo.join("src/Leaky.c"), "int leaky(void) { return 1; }\n").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", repo.join("src/Leak.h")).unwrap();
    common::libfix::git(&repo, &["init", "-q"]);
    common::libfix::git(&repo, &["add", "-A"]);
    common::libfix::git(&repo, &["commit", "-qm", "leak"]);
    common::libfix::git(&repo, &["tag", "v1"]);
    let proj = project(
        &work.path().join("second"),
        &[format!("Leaky=git+file://{}#v1", repo.display())],
    );
    let out = build(&home, &proj, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("src/Leak.h") && err.contains("outside the package"),
        "{err}"
    );
    assert!(store(&home).is_empty(), "stored: {:?}", store(&home));

    // A repository whose one entry is a link to a folder elsewhere: the
    // package would be stored as that link.
    let elsewhere = work.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("src")).unwrap();
    std::fs::write(elsewhere.join("library.properties"), "name=Away\n").unwrap();
    let repo = work.path().join("git/Away");
    std::fs::create_dir_all(&repo).unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.join("Away")).unwrap();
    common::libfix::git(&repo, &["init", "-q"]);
    common::libfix::git(&repo, &["add", "-A"]);
    common::libfix::git(&repo, &["commit", "-qm", "away"]);
    common::libfix::git(&repo, &["tag", "v1"]);
    let proj = project(
        &work.path().join("third"),
        &[format!("Away=git+file://{}#v1", repo.display())],
    );
    let out = build(&home, &proj, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("outside the package"), "{err}");
    assert!(store(&home).is_empty(), "stored: {:?}", store(&home));
}

#[test]
fn manifest_folders_stay_inside_and_link_loops_end() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let proj = project(work.path(), &[]);
    std::fs::write(
        proj.join("src/main.c"),
        "#include <Loopy.h>\nint main(void) { return loopy() - 1; }\n",
    )
    .unwrap();
    let lib = proj.join("lib/Loopy");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::write(lib.join("src/Loopy.h"), "int loopy(void);\n").unwrap();
    std::fs::write(lib.join("src/Loopy.c"), "int loopy(void) { return 1; }\n").unwrap();
    for (key, value) in [
        ("srcDir", "../../.."),
        ("srcDir", "/"),
        ("includeDir", "/etc"),
    ] {
        std::fs::write(
            lib.join("library.json"),
            format!(r#"{{"name": "Loopy", "build": {{"{key}": "{value}"}}}}"#),
        )
        .unwrap();
        let out = build(&home, &proj, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{key}={value}: {err}");
        assert!(
            err.contains("library.json") && err.contains(&format!("build.{key} = {value:?}")),
            "{key}={value}: {err}"
        );
    }
    std::fs::remove_file(lib.join("library.json")).unwrap();
    // Two links back up: the walk ends, each file compiles once.
    std::os::unix::fs::symlink("..", lib.join("src/a")).unwrap();
    std::os::unix::fs::symlink("..", lib.join("src/b")).unwrap();
    let mut child = home
        .fbuild(&["build", proj.to_str().unwrap(), "-v"])
        .env("FBUILD_ZCCACHE", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ended = wait_for(std::time::Duration::from_secs(60), || {
        child.try_wait().unwrap().is_some()
    });
    if !ended {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert!(ended, "the build never ended");
    assert_ok(&out);
    let compiles = stderr(&out)
        .lines()
        .filter(|l| l.contains(" -c ") && l.contains("Loopy.c"))
        .count();
    assert_eq!(compiles, 1, "{}", stderr(&out));
}

#[test]
fn archives_past_the_limits_are_refused_and_nothing_is_kept() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    // A tar entry declaring 600 MiB (the data need not follow: the header
    // alone is refused), the same size in a PAX header over a ustar one of
    // 0, a zip of 20 MiB of zeros (20 KB), and 30 files.
    python(&format!(
        "import gzip, io, tarfile\n\
         i = tarfile.TarInfo('Bomb/big.bin'); i.size = 600 << 20\n\
         gzip.open({:?}, 'wb').write(i.tobuf() + bytes(4096))\n\
         p = tarfile.TarInfo('Pax/big.bin'); p.size = 0\n\
         p.pax_headers = {{'size': str(600 << 20)}}\n\
         gzip.open({:?}, 'wb').write(p.tobuf(tarfile.PAX_FORMAT) + bytes(4096))\n",
        served.join("bomb.tar.gz"),
        served.join("pax.tar.gz")
    ));
    python(&format!(
        "import zipfile\n\
         z = zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED)\n\
         z.writestr('Zip/library.properties', 'name=Zip\\n')\n\
         z.writestr('Zip/zeros.bin', bytes(20 << 20))\n\
         z.close()\n",
        served.join("zeros.zip")
    ));
    tarball(
        &served.join("many.tar.gz"),
        "for n in range(30): add('Lib/src/f%d.h' % n, b'//\\n')",
    );
    // A git repository whose pack is small and whose tree is 20 MiB.
    let repo = work.path().join("git/Zeros");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("library.properties"), "name=Zeros\n").unwrap();
    std::fs::write(repo.join("src/zeros.bin"), vec![0u8; 20 << 20]).unwrap();
    common::libfix::git(&repo, &["init", "-q"]);
    common::libfix::git(&repo, &["add", "-A"]);
    common::libfix::git(&repo, &["commit", "-qm", "zeros"]);
    common::libfix::git(&repo, &["tag", "v1"]);
    // A git bomb: nine levels of ten entries, each the same subtree: a
    // repository of a few KB whose tree lists 10^9 files.
    let bomb = work.path().join("git/Bomb");
    std::fs::create_dir_all(&bomb).unwrap();
    python(&format!(
        "import subprocess as s\n\
         d = {:?}\n\
         g = lambda *a, i=None: s.run(['git', '-C', d, *a], input=i, capture_output=True, \
         check=True, text=True).stdout.strip()\n\
         g('init', '-q')\n\
         o = g('hash-object', '-w', '--stdin', i='x')\n\
         kind = 'blob'\n\
         for level in range(9):\n\
         \x20   o = g('mktree', i=''.join('%s %s %s\\tf%d\\n' % ('100644' if kind == 'blob' \
         else '040000', kind, o, n) for n in range(10)))\n\
         \x20   kind = 'tree'\n\
         c = g('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', o, '-m', 'bomb')\n\
         g('tag', 'v1', c)\n",
        bomb
    ));
    let server = TestServer::serve(&served);
    let url = |file: &str| format!("{}/{file}", server.url());
    let cases = [
        (
            "bomb",
            url("bomb.tar.gz"),
            vec![],
            "unpacks to more than 512 MiB",
        ),
        (
            "pax",
            url("pax.tar.gz"),
            vec![],
            "unpacks to more than 512 MiB",
        ),
        (
            "zeros",
            url("zeros.zip"),
            vec![("FBUILD_UNPACK_MAX_MB", "5")],
            "unpacks to more than 5 MiB",
        ),
        (
            "many",
            url("many.tar.gz"),
            vec![("FBUILD_UNPACK_MAX_FILES", "20")],
            "more than 20 files",
        ),
        (
            "git bomb",
            format!("Bomb=git+file://{}#v1", bomb.display()),
            vec![],
            "holds more than 50000 files",
        ),
        (
            "git",
            format!("Zeros=git+file://{}#v1", repo.display()),
            vec![("FBUILD_UNPACK_MAX_MB", "5")],
            "unpacks to more than 5 MiB",
        ),
    ];
    for (file, lib_dep, env, says) in cases {
        // The limits are the coordinator's settings: a fresh one per case.
        let _ = home.run(&["daemon", "stop"]);
        let proj = project(&work.path().join(file), &[lib_dep]);
        let out = build(&home, &proj, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{file}: {err}");
        assert!(err.contains(says), "{file}: {err}");
        if let Some((var, _)) = env.first() {
            assert!(
                err.contains(var),
                "{file}: the message names no setting: {err}"
            );
        }
        assert!(store(&home).is_empty(), "{file}: stored {:?}", store(&home));
    }
}
