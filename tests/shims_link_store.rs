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
    // (Dot files are the store's own: staging, the toolchain's folders.)
    let entries = std::fs::read_dir(s.store())
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(entries, 4, "one entry per distinct link or archive");
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
