//! Library sources for `lib_deps` tests, served the three ways PlatformIO
//! projects name them: a PlatformIO-registry API and an Arduino
//! `library_index.json` (both as static files under a loopback server's
//! root, archives beside them), and a local bare git repository with tags.
//!
//! Libraries (small ones written here, plus the core's real SoftwareSerial):
//! * `Counter` 1.0.0, 1.2.0, 2.0.0 — Arduino index (.zip with a top folder,
//!   library.properties, `src/` layout);
//! * `acme/Greeting` 1.0.0, 1.1.0 — registry (.tar.gz, library.json with
//!   `dependencies: Counter ^1.0.0` and `build.flags`);
//! * `arduino/SoftwareSerial` 1.0.0 — registry, the core's own sources;
//! * `Blinker` — git, tags v1.0.0 and v2.0.0, `depends=Counter (>=1.1.0)`;
//! * `Shapes` 0.3.0 — an archive URL (.zip), flat layout;
//! * `Evil` — a .zip with a `../` entry.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::http::TestServer;
use super::sha256;

pub struct Fixture {
    pub server: TestServer,
    pub root: tempfile::TempDir,
    pub git: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let server = TestServer::serve(root.path());
        let git = root.path().join("git/Blinker.git");
        let f = Fixture { server, root, git };
        f.write();
        f
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.server.url())
    }

    /// Environment pointing fbuild at this fixture's indexes.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("FBUILD_REGISTRY_URL".into(), self.server.url()),
            (
                "FBUILD_LIBRARY_INDEX".into(),
                self.url("arduino/library_index.json"),
            ),
        ]
    }

    pub fn git_url(&self) -> String {
        format!("git+file://{}", self.git.display())
    }

    fn write(&self) {
        let r = self.root.path();
        let mut index = Vec::new();
        for (v, body) in [("1.0.0", 1), ("1.2.0", 12), ("2.0.0", 20)] {
            let dir = stage(&r.join("src"), &format!("Counter-{v}"), &[
                ("library.properties", format!("name=Counter\nversion={v}\narchitectures=*\n")),
                ("src/Counter.h", "#pragma once\n#ifdef __cplusplus\nextern \"C\" {\n#endif\nint counter_next(void);\nint counter_version(void);\n#ifdef __cplusplus\n}\n#endif\n".into()),
                ("src/Counter.c", format!("static int n;\nint counter_next(void) {{ return ++n; }}\nint counter_version(void) {{ return {body}; }}\n")),
            ]);
            let file = format!("Counter-{v}.zip");
            zip_dir(&dir, &r.join("arduino").join(&file), true);
            index.push(
                serde_json::json!({"name": "Counter", "version": v, "url": file,
                "checksum": format!("SHA-256:{}", sha256(&r.join("arduino").join(&file)))}),
            );
        }
        std::fs::write(
            r.join("arduino/library_index.json"),
            serde_json::json!({"libraries": index}).to_string(),
        )
        .unwrap();
        // The same, gzipped, as Arduino also publishes it.
        run(Command::new("gzip")
            .arg("-k")
            .arg(r.join("arduino/library_index.json")));

        let mut versions = Vec::new();
        for v in ["1.0.0", "1.1.0"] {
            let dir = stage(&r.join("src"), "Greeting", &[
                ("library.json", serde_json::json!({"name": "Greeting", "version": v,
                    "dependencies": [{"name": "Counter", "version": "^1.0.0"}],
                    "build": {"flags": "-DGREETING_LOUD=3"}}).to_string()),
                ("src/Greeting.h", "#pragma once\nint greeting(void);\n".into()),
                ("src/Greeting.cpp", "#include \"Greeting.h\"\n#include <Counter.h>\nint greeting(void) { return counter_next() + GREETING_LOUD; }\n".into()),
            ]);
            versions.push(self.registry_file("greeting", &dir, v));
        }
        self.registry_json("acme", "Greeting", versions);
        let core = Path::new("/usr/share/arduino/hardware/arduino/avr/libraries/SoftwareSerial");
        let v = self.registry_file("softwareserial", core, "1.0.0");
        self.registry_json("arduino", "SoftwareSerial", vec![v]);

        let shapes = stage(
            &r.join("src"),
            "Shapes-0.3.0",
            &[
                ("library.properties", "name=Shapes\nversion=0.3.0\n".into()),
                ("Shapes.h", "#pragma once\nint shapes_sides(int);\n".into()),
                (
                    "Shapes.cpp",
                    "#include \"Shapes.h\"\nint shapes_sides(int k) { return k * 4; }\n".into(),
                ),
                (
                    "examples/Demo/Demo.ino",
                    "#error examples are not built\n".into(),
                ),
            ],
        );
        zip_dir(&shapes, &r.join("dl/Shapes-0.3.0.zip"), true);
        python(&format!(
            "import zipfile\nz = zipfile.ZipFile({:?}, 'w')\nz.writestr('Evil/library.properties', 'name=Evil\\n')\nz.writestr('../evil.h', 'x')\nz.close()\n",
            r.join("dl/Evil-1.0.zip")
        ));
        self.write_git();
    }

    /// A registry version entry for `dir` packed as a .tar.gz.
    fn registry_file(&self, lower: &str, dir: &Path, v: &str) -> serde_json::Value {
        let file = self.root.path().join(format!("dl/{lower}-{v}.tar.gz"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        run(Command::new("tar")
            .arg("czf")
            .arg(&file)
            .arg("-C")
            .arg(dir)
            .arg("."));
        serde_json::json!({"name": v, "files": [{
            "download_url": self.url(&format!("dl/{lower}-{v}.tar.gz")),
            "checksum": {"sha256": sha256(&file)}, "system": "*"}]})
    }

    fn registry_json(&self, owner: &str, name: &str, versions: Vec<serde_json::Value>) {
        let path = self.root.path().join(format!(
            "v3/packages/{}/library/{}",
            owner.to_lowercase(),
            name.to_lowercase()
        ));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let body = serde_json::json!({"id": 1, "name": name, "owner": {"username": owner},
            "type": "library", "versions": versions});
        std::fs::write(path, body.to_string()).unwrap();
    }

    fn write_git(&self) {
        let work = self.root.path().join("git/work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        for (tag, k) in [("v1.0.0", 1), ("v2.0.0", 2)] {
            let files = [
                ("library.properties", format!("name=Blinker\nversion={}\ndepends=Counter (>=1.1.0)\n", &tag[1..])),
                ("src/Blinker.h", "#pragma once\n#ifdef __cplusplus\nextern \"C\"\n#endif\nint blinker_rate(void);\n".into()),
                ("src/Blinker.c", format!("#include <Counter.h>\n#include \"Blinker.h\"\nint blinker_rate(void) {{ return {k} * counter_version(); }}\n")),
            ];
            for (name, text) in files {
                let p = work.join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            git(&work, &["add", "-A"]);
            git(&work, &["commit", "-q", "-m", tag]);
            git(&work, &["tag", tag]);
        }
        git(
            self.root.path(),
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().unwrap(),
                self.git.to_str().unwrap(),
            ],
        );
    }
}

/// `<base>/<n>/<name>/` with `files` (one fresh folder per call).
fn stage(base: &Path, name: &str, files: &[(&str, String)]) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = base.join(format!("{n}")).join(name);
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Zips `dir` into `out`, under a top folder named like `dir` if `top`.
fn zip_dir(dir: &Path, out: &Path, top: bool) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let base = if top { dir.parent().unwrap() } else { dir };
    python(&format!(
        "import os, zipfile\nz = zipfile.ZipFile({out:?}, 'w', zipfile.ZIP_DEFLATED)\nfor d, _, fs in sorted(os.walk({dir:?})):\n    for f in sorted(fs):\n        p = os.path.join(d, f)\n        z.write(p, os.path.relpath(p, {base:?}))\nz.close()\n"
    ));
}

fn python(script: &str) {
    run(Command::new("python3").arg("-c").arg(script));
}

pub fn git(dir: &Path, args: &[&str]) {
    run(Command::new("git")
        .args([
            "-c",
            "user.name=fbuild test",
            "-c",
            "user.email=test@fbuild.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
