//! `fbuild build` of a native project on Windows, under wine, with TinyCC
//! as the host compiler (`board = fbuild:native:native:toolchain=tinycc`,
//! the native platform's data): the program builds and runs, a second
//! build compiles nothing, a header edit recompiles its dependents only, a
//! compile error fails the build naming the file; and `fbuild monitor
//! --port COM7` reads a serial port wine maps to a pty. Skipped unless
//! FBUILD_WINE_BIN and FBUILD_WINE_DEPS are set (scripts/test-windows).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Output;

use common::http::TestServer;
use common::pty::pty_pair;
use common::wine::Wine;
use common::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn project(root: &Path) {
    write(
        root,
        "platformio.ini",
        "[env:host]\nplatform = native\nboard = fbuild:native:native:toolchain=tinycc\n",
    );
    write(
        root,
        "src/main.c",
        "#include <stdio.h>\n#include \"foo.h\"\n#include \"util.h\"\n\
         int main(void) { printf(\"native on windows %d\\n\", foo(2) + util(3)); return 0; }\n",
    );
    write(root, "src/util.h", "int util(int x);\n");
    write(
        root,
        "src/util.c",
        "#include \"util.h\"\nint util(int x) { return x * 10; }\n",
    );
    write(root, "lib/Foo/src/foo.h", "int foo(int x);\n");
    write(
        root,
        "lib/Foo/src/foo.c",
        "#include \"foo.h\"\nint foo(int x) { return x + 100; }\n",
    );
}

struct Env<'a> {
    wine: &'a Wine,
    home: String,
    path: String,
    mirror: String,
}

impl<'a> Env<'a> {
    /// TinyCC on PATH, the home in `dir`, zccache from `server`.
    fn with_tinycc(wine: &'a Wine, dir: &Path, server: &TestServer) -> Env<'a> {
        Env {
            wine,
            home: wine.win_path(&dir.join("home")),
            path: wine.win_path(wine.tcc().parent().unwrap()),
            mirror: server.url(),
        }
    }

    fn fbuild(&self, args: &[&str], cwd: &Path) -> Output {
        self.wine.output(
            self.wine
                .command(self.wine.exe("fbuild.exe"))
                .args(args)
                .current_dir(cwd)
                .env("WINEPATH", &self.path)
                .env("FBUILD_HOME", &self.home)
                .env("FBUILD_ZCCACHE_URL", &self.mirror),
        )
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_native_project_builds_with_tinycc_and_rebuilds_only_what_changed() {
    let Some(wine) = Wine::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("native proj ü");
    project(&root);
    let server = TestServer::serve(wine.zccache_mirror());
    let env = Env::with_tinycc(&wine, dir.path(), &server);

    let out = env.fbuild(&["build"], &root);
    assert_ok(&out);
    let program = root.join(".fbuild/build/host/program.exe");
    assert!(program.is_file(), "{}", stderr(&out));
    let ran = wine.output(wine.command(&program).current_dir(&root));
    assert_ok(&ran);
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "native on windows 132"
    );

    let again = env.fbuild(&["build"], &root);
    assert_ok(&again);
    assert!(
        said(&again).contains("(0 compiled, 3 up to date)"),
        "{}",
        said(&again)
    );

    write(
        &root,
        "lib/Foo/src/foo.h",
        "int foo(int x);\n#define FOO 1\n",
    );
    let edited = env.fbuild(&["build"], &root);
    assert_ok(&edited);
    assert!(
        said(&edited).contains("(2 compiled, 1 up to date)"),
        "{}",
        said(&edited)
    );

    write(&root, "src/util.c", "int util(int x) { return missing; }\n");
    let broken = env.fbuild(&["build"], &root);
    assert!(!broken.status.success());
    let said = stderr(&broken);
    assert!(
        said.contains("util.c") && said.contains("missing"),
        "{said}"
    );
    wine.shutdown();
}

#[test]
fn monitor_reads_a_com_port() {
    let Some(wine) = Wine::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = Env {
        wine: &wine,
        home: wine.win_path(&dir.path().join("home")),
        path: String::new(),
        mirror: String::new(),
    };
    // Wine's COM7 is what `dosdevices/com7` links to: here a pty whose
    // master this test writes.
    let (master, slave) = pty_pair();
    std::os::unix::fs::symlink(&slave, wine.prefix().join("dosdevices/com7")).unwrap();
    let mut board = std::fs::File::from(master);
    board.write_all(b"boot\r\nhello from COM7\r\n").unwrap();
    let out = env.fbuild(
        &[
            "monitor",
            "--port",
            "COM7",
            "--baud",
            "115200",
            "--timeout",
            "30",
            "--halt-on-success",
            "hello from COM7",
        ],
        dir.path(),
    );
    assert_ok(&out);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("hello from COM7"), "{printed}");
    assert!(stderr(&out).contains("monitoring COM7"), "{}", stderr(&out));

    // A port that is not there: its name and what to check, Windows' way.
    let out = env.fbuild(&["monitor", "--port", "COM9", "--timeout", "5"], dir.path());
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("COM9") && said.contains("device list"),
        "{said}"
    );
    assert!(!said.contains("dialout"), "{said}");
    wine.shutdown();
}

/// A link line longer than Windows takes (32,767 characters): 125
/// objects with ~250-character paths. GCC-style tools get it as a
/// response file (`core/src/tool/response.rs`, tested with gcc); TinyCC
/// 0.9.26 reads none, and the build says so instead of a cut command line
/// failing with "file … not found".
#[test]
fn a_link_longer_than_windows_takes_is_named() {
    const N: usize = 125;
    let Some(wine) = Wine::from_env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    write(
        &root,
        "platformio.ini",
        "[env:host]\nplatform = native\nboard = fbuild:native:native:toolchain=tinycc\n",
    );
    let mut main = String::from("#include <stdio.h>\n");
    let mut sum = String::new();
    for i in 0..N {
        let name = format!("s{i:03}_{}", "x".repeat(195));
        write(
            &root,
            &format!("src/{name}.c"),
            &format!("int f{i}(void) {{ return {i}; }}\n"),
        );
        main.push_str(&format!("int f{i}(void);\n"));
        sum.push_str(&format!(" + f{i}()"));
    }
    main.push_str(&format!(
        "int main(void) {{ printf(\"%d\\n\", 0{sum}); return 0; }}\n"
    ));
    write(&root, "src/main.c", &main);
    let server = TestServer::serve(wine.zccache_mirror());
    let env = Env::with_tinycc(&wine, dir.path(), &server);
    let out = wine.output(
        wine.command(wine.exe("fbuild.exe"))
            .args(["build", "-v"])
            .current_dir(&root)
            .env("WINEPATH", &env.path)
            .env("FBUILD_HOME", &env.home)
            .env("FBUILD_ZCCACHE", "off"),
    );
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("longer than this OS takes") && said.contains("fbuild.response_files"),
        "{said}"
    );
    // Every compile ran; the link was refused before it started.
    assert_eq!(
        std::fs::read_dir(root.join(".fbuild/build/host/src"))
            .unwrap()
            .count(),
        2 * (N + 1)
    );
    assert!(!root.join(".fbuild/build/host/program.exe").exists());
    wine.shutdown();
}
