//! Links and archives through the shims come from fbuild's own store by
//! default (`FBUILD_HOME/builds/links/`, `fbuild_core::link_store`): a hit
//! runs no linker and gives back the real link's bytes (executable, its
//! `-Wl,-Map` file, an archive) and what the linker printed; a changed
//! input runs the linker; nothing goes to zccache's link cache. The real
//! `cc` and `ar` here are wrappers that log each call, then run the
//! system's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

struct Setup {
    home: TestHome,
    work: tempfile::TempDir,
    /// The wrappers' folder and their log.
    real: common::shims::Wrappers,
}

fn setup() -> Setup {
    let home = TestHome::new();
    home.shims();
    let work = tempfile::tempdir().unwrap();
    let real = common::shims::Wrappers::new(&[("cc", "/usr/bin/cc"), ("ar", "/usr/bin/ar")]);
    let dir = work.path();
    std::fs::write(dir.join("a.c"), "int f(int x) { return x * 3; }\n").unwrap();
    std::fs::write(
        dir.join("m.c"),
        "#include <stdio.h>\nint f(int);\nint g(void);\n\
         int main(void) { printf(\"%d\\n\", f(14) + g()); return 0; }\n",
    )
    .unwrap();
    // A function whose use the linker warns of (on stderr).
    std::fs::write(
        dir.join("w.c"),
        "int g(void) { return 0; }\n\
         static const char w[] __attribute__((used, section(\".gnu.warning.g\"))) = \"g is old\";\n",
    )
    .unwrap();
    for f in ["a", "m", "w"] {
        let out = Command::new("cc")
            .args(["-O2", "-c", &format!("{f}.c")])
            .current_dir(dir)
            .output()
            .unwrap();
        assert_ok(&out);
    }
    Setup { home, work, real }
}

impl Setup {
    fn dir(&self) -> &Path {
        self.work.path()
    }

    /// The shim `tool` with the wrappers first on PATH.
    fn shim(&self, tool: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self
            .home
            .shim(tool, self.dir())
            .env("PATH", self.real.path_first())
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        assert_ok(&out);
        out
    }

    /// Calls of the real tools whose line contains `needle`.
    fn ran(&self, needle: &str) -> usize {
        self.real
            .log()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    fn remove(&self, files: &[&str]) {
        for f in files {
            let _ = std::fs::remove_file(self.dir().join(f));
        }
    }

    fn run(&self, program: &str) -> String {
        let out = Command::new(self.dir().join(program)).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn store(&self) -> PathBuf {
        self.home.path().join("builds/links")
    }

    /// The store's entries (dot files are its own: staging, the
    /// toolchain's folders).
    fn entries(&self) -> usize {
        std::fs::read_dir(self.store())
            .unwrap()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .count()
    }
}

/// zccache's link counter.
fn zccache_links(home: &TestHome) -> u64 {
    home.zccache_stats()["total_links"].as_u64().unwrap()
}

#[test]
fn links_and_archives_come_from_the_store_byte_for_byte_without_the_linker() {
    let s = setup();
    let link = ["a.o", "m.o", "w.o", "-o", "prog", "-Wl,-Map,prog.map"];
    let first = s.shim("cc", &link, &[]);
    assert_eq!(s.ran("-o prog"), 1);
    assert!(String::from_utf8_lossy(&first.stderr).contains("g is old"));
    let (real, real_map) = (s.read("prog"), s.read("prog.map"));
    let zccache_before = zccache_links(&s.home);

    // Outputs gone: both back from the store, the linker not run, its
    // warning said again.
    s.remove(&["prog", "prog.map"]);
    let hit = s.shim("cc", &link, &[]);
    assert_eq!(s.ran("-o prog"), 1, "the linker ran on a hit");
    assert!(s.read("prog") == real, "the executable differs");
    assert!(s.read("prog.map") == real_map, "the map file differs");
    assert!(
        String::from_utf8_lossy(&hit.stderr).contains("g is old"),
        "{hit:?}"
    );
    assert_eq!(s.run("prog"), "42\n");
    // An output edited in place (strip) is restored whole.
    std::fs::write(s.dir().join("prog"), "stripped").unwrap();
    s.shim("cc", &link, &[]);
    assert!(s.read("prog") == real);

    // A changed object runs the linker, and the link is the new one.
    std::fs::write(s.dir().join("a.c"), "int f(int x) { return x * 5; }\n").unwrap();
    assert_ok(
        &Command::new("cc")
            .args(["-O2", "-c", "a.c"])
            .current_dir(s.dir())
            .output()
            .unwrap(),
    );
    s.shim("cc", &link, &[]);
    assert_eq!(s.ran("-o prog"), 2, "a changed object was served");
    assert_eq!(s.run("prog"), "70\n");

    // A fresh archive: `ar` runs once, with `D`; the next is the same bytes.
    s.shim("ar", &["rcs", "libf.a", "a.o", "w.o"], &[]);
    assert_eq!(s.ran("ar rcsD libf.a"), 1);
    let archive = s.read("libf.a");
    s.remove(&["libf.a"]);
    s.shim("ar", &["rcs", "libf.a", "a.o", "w.o"], &[]);
    assert_eq!(s.ran("ar rcsD libf.a"), 1, "ar ran on a hit");
    assert!(s.read("libf.a") == archive);

    // Lua's `ar rcu` into a new archive: `u` changes nothing there.
    s.shim("ar", &["rcu", "libu.a", "a.o"], &[]);
    s.remove(&["libu.a"]);
    s.shim("ar", &["rcu", "libu.a", "a.o"], &[]);
    assert_eq!(s.ran("ar rcD libu.a"), 1, "ar rcu ran on a hit");

    // Nothing of it went to zccache's link cache.
    assert_eq!(zccache_links(&s.home), zccache_before);
    assert_eq!(s.entries(), 4, "one entry per distinct link or archive");
    // `fbuild cache stats` shows the store; `clear` empties it.
    let stats = |args: &[&str]| {
        let out = s.home.run(args);
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let json: serde_json::Value =
        serde_json::from_str(&stats(&["cache", "stats", "--json"])).unwrap();
    assert_eq!(json["link_store"]["entries"], 4, "{json}");
    assert!(json["link_store"]["size_bytes"].as_u64().unwrap() > real.len() as u64);
    stats(&["cache", "clear"]);
    let table = stats(&["cache", "stats"]);
    assert!(
        table.contains("link store  0.0 KiB in 0 entries"),
        "{table}"
    );
    s.remove(&["prog"]);
    s.shim("cc", &link, &[]);
    assert_eq!(s.ran("-o prog"), 3, "served after a clear");
}

#[test]
fn without_the_cache_the_store_is_not_used() {
    let s = setup();
    let link = ["a.o", "m.o", "w.o", "-o", "prog"];
    for _ in 0..2 {
        s.remove(&["prog"]);
        s.shim("cc", &link, &[("FBUILD_CACHE", "none")]);
    }
    assert_eq!(s.ran("-o prog"), 2);
    assert!(!s.store().exists());
    // A line that writes a file it does not name is never stored.
    for _ in 0..2 {
        s.shim("cc", &["a.o", "m.o", "w.o", "-o", "p2", "-save-temps"], &[]);
    }
    assert_eq!(s.ran("-o p2"), 2);
}

/// `ranlib` rewrites its archive in place: from the store, the archive's
/// bytes before are the key and after are the entry; a hit runs no
/// ranlib and gives the real one's bytes; another archive runs it again;
/// an option other than `-D` runs it alone.
#[test]
fn ranlib_comes_from_the_store_keyed_by_the_archive_it_rewrites() {
    let s = setup();
    let real = common::shims::Wrappers::new(&[("ranlib", "/usr/bin/ranlib")]);
    let ar = |members: &[&str]| {
        s.remove(&["libu.a"]);
        // No symbol index (S): ranlib writes one.
        let out = Command::new("ar")
            .args(["rcSD", "libu.a"])
            .args(members)
            .current_dir(s.dir())
            .output()
            .unwrap();
        assert_ok(&out);
    };
    // The bytes the system's ranlib gives an archive of `members`.
    let expected = |members: &[&str]| {
        ar(members);
        let out = Command::new("ranlib")
            .arg("libu.a")
            .current_dir(s.dir())
            .output()
            .unwrap();
        assert_ok(&out);
        s.read("libu.a")
    };
    let ranlib_said = |args: &[&str]| {
        s.home
            .shim("ranlib", s.dir())
            .env("PATH", real.path_first())
            .args(args)
            .output()
            .unwrap()
    };
    let ranlib = |args: &[&str]| assert_ok(&ranlib_said(args));
    let ran = || {
        real.log()
            .lines()
            .filter(|l| l.starts_with("ranlib"))
            .count()
    };
    let two = expected(&["a.o", "w.o"]);
    ar(&["a.o", "w.o"]);
    assert_ne!(s.read("libu.a"), two, "ranlib changes nothing here");
    ranlib(&["libu.a"]);
    assert_eq!(ran(), 1);
    assert!(s.read("libu.a") == two, "the real ranlib's bytes");
    // The same archive again: from the store.
    ar(&["a.o", "w.o"]);
    ranlib(&["libu.a"]);
    assert_eq!(ran(), 1, "ranlib ran on a hit");
    assert!(s.read("libu.a") == two, "the stored bytes");
    // Another archive: ranlib runs.
    let one = expected(&["a.o"]);
    ar(&["a.o"]);
    ranlib(&["libu.a"]);
    assert_eq!(ran(), 2, "another archive was served");
    assert!(s.read("libu.a") == one);
    // -D (deterministic) is another line, stored; -t runs alone each time.
    ar(&["a.o"]);
    ranlib(&["-D", "libu.a"]);
    assert_eq!(ran(), 3);
    ranlib(&["-t", "libu.a"]);
    ranlib(&["-t", "libu.a"]);
    assert_eq!(ran(), 5, "ranlib -t is not stored");
    assert_eq!(s.entries(), 3, "two archives, and one with -D");

    // As GNU ranlib, from the store: through a symbolic link and into a
    // hard-linked file (the links and the mode kept).
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let target = s.dir().join("libu.a");
    for (name, via) in [("symbolic", "libl.a"), ("hard", "libh.a")] {
        let via_path = s.dir().join(via);
        // First the same bytes under that name, as a plain file: stored.
        ar(&["a.o", "w.o"]);
        let _ = std::fs::remove_file(&via_path);
        std::fs::copy(&target, &via_path).unwrap();
        ranlib(&[via]);
        let before = ran();
        // Then the name as a link to a fresh archive: a hit, written through.
        ar(&["a.o", "w.o"]);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::remove_file(&via_path).unwrap();
        if name == "symbolic" {
            std::os::unix::fs::symlink("libu.a", &via_path).unwrap();
        } else {
            std::fs::hard_link(&target, &via_path).unwrap();
        }
        let inode = std::fs::metadata(&target).unwrap().ino();
        ranlib(&[via]);
        assert_eq!(ran(), before, "{name}: not from the store");
        assert!(s.read("libu.a") == two, "{name}: not written through");
        assert_eq!(std::fs::metadata(&target).unwrap().ino(), inode, "{name}");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{name}: the mode");
        let kept = std::fs::symlink_metadata(&via_path).unwrap();
        assert_eq!(kept.file_type().is_symlink(), name == "symbolic", "{name}");
    }
    // A plain archive, as GNU ranlib (binutils 2.37 on) writes it: the
    // same file (inode, mode), dated now, not when it was stored (make
    // compares it with its objects).
    ar(&["a.o", "w.o"]);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(YEAR_2001);
    let file = std::fs::File::options().write(true).open(&target).unwrap();
    file.set_modified(long_ago).unwrap();
    drop(file);
    let before = ran();
    ranlib(&["libu.a"]);
    assert_eq!(ran(), before, "from the store");
    assert!(s.read("libu.a") == two);
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.ino(), inode, "not the same file");
    assert!(meta.modified().unwrap() > long_ago, "dated when stored");
    // A damaged archive: ranlib's own error, naming the archive (not the
    // copy), its exit code, the archive untouched, nothing stored.
    let damaged = b"!<arch>\ngarbage here\n";
    std::fs::write(s.dir().join("libg.a"), damaged).unwrap();
    for _ in 0..2 {
        let out = ranlib_said(&["libg.a"]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("libg.a: file format not recognized"),
            "{said}"
        );
        assert!(!said.contains("fbuild-ranlib"), "{said}");
        assert_eq!(std::fs::read(s.dir().join("libg.a")).unwrap(), damaged);
    }
    // A thin archive names its members' files: ranlib runs every time.
    s.remove(&["libt.a"]);
    let out = Command::new("ar")
        .args(["rcSTD", "libt.a", "a.o"])
        .current_dir(s.dir())
        .output()
        .unwrap();
    assert_ok(&out);
    let before = ran();
    ranlib(&["libt.a"]);
    ranlib(&["libt.a"]);
    assert_eq!(ran(), before + 2, "a thin archive was served");
    // No private copy is left beside the archives.
    let left: Vec<_> = std::fs::read_dir(s.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("fbuild-ranlib"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// 2001-09-09, seconds since the epoch.
const YEAR_2001: u64 = 1_000_000_000;
