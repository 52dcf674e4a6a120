//! The shims as CC/CXX/AR of real make and CMake projects: byte-identical
//! output, cache hits (with -MP too), compiler errors and signals as the
//! compiler's own, stdin sources.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::project::{self, OUTPUTS, make, make_clean};
use common::*;

struct Shimmed {
    home: TestHome,
    shims: PathBuf,
    url: String,
}

impl Shimmed {
    fn new() -> Self {
        let home = TestHome::new();
        let shims = home.shims();
        Shimmed {
            home,
            shims,
            url: mirror_url(),
        }
    }

    fn tool(&self, name: &str) -> String {
        self.shims.join(name).display().to_string()
    }

    /// Environment for processes that run the shims.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FBUILD_HOME", self.home.path().display().to_string()),
            ("FBUILD_ZCCACHE_URL", self.url.clone()),
            ("FBUILD_IDLE_SECS", "120".into()),
        ]
    }

    fn make(&self, dir: &Path) -> std::process::Output {
        let (cc, cxx, ar) = (self.tool("cc"), self.tool("c++"), self.tool("ar"));
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        make(dir, 2, &[("CC", &cc), ("CXX", &cxx), ("AR", &ar)], &env)
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = clean_command(self.shims.join(tool));
        cmd.envs(self.env());
        cmd
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    OUTPUTS
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")),
            )
        })
        .collect()
}

#[test]
fn make_through_shims_is_byte_identical_and_cached() {
    let s = Shimmed::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    project::write(dir);

    assert_ok(&make(
        dir,
        2,
        &[("CC", "cc"), ("CXX", "c++"), ("AR", "ar")],
        &[],
    ));
    let plain = snapshot(dir);
    assert_ok(&make(dir, 1, &[], &[]).clone()); // up to date
    make_clean(dir);

    assert_ok(&s.make(dir));
    assert_eq!(
        snapshot(dir),
        plain,
        "first build through the shims differs"
    );
    let run = Command::new(dir.join("prog")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "result 89\n");
    let before = s.home.zccache_stats();

    make_clean(dir);
    assert_ok(&s.make(dir));
    assert_eq!(
        snapshot(dir),
        plain,
        "cached build differs (deps.d included)"
    );
    let after = s.home.zccache_stats();
    let hits = after["cache_hits"].as_u64().unwrap() - before["cache_hits"].as_u64().unwrap();
    assert!(
        hits >= 8,
        "only {hits} cache hits for 8 compiles (the -MP one included): {after}"
    );
}

#[test]
fn cmake_makefiles_and_ninja_through_shims() {
    for generator in ["Unix Makefiles", "Ninja"] {
        let s = Shimmed::new();
        assert!(s.home.coordinator_pids().is_empty());
        let src = tempfile::tempdir().unwrap();
        project::write(src.path());
        let build = src.path().join("build");
        let run_cmake = |args: &[&str]| {
            let mut cmd = clean_command("cmake");
            cmd.args(args)
                .envs(s.env())
                .env("CC", s.tool("cc"))
                .env("CXX", s.tool("c++"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let child = cmd.spawn().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(child.wait_with_output()));
            // Returning at all shows the lazily started coordinator holds
            // none of cmake's or ninja's pipes.
            rx.recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("cmake {args:?} ({generator}) did not return"))
                .unwrap()
        };
        let configure = run_cmake(&[
            "-S",
            &src.path().display().to_string(),
            "-B",
            &build.display().to_string(),
            "-G",
            generator,
        ]);
        assert_ok(&configure);
        let log = String::from_utf8_lossy(&configure.stdout);
        assert!(
            log.contains("Check for working C compiler")
                || log.contains("Detecting C compiler ABI info - done"),
            "{log}"
        );
        assert_ok(&run_cmake(&["--build", &build.display().to_string()]));
        let out = Command::new(build.join("prog")).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "result 89\n",
            "{generator}"
        );
        assert_eq!(s.home.coordinator_pids().len(), 1, "{generator}");
        assert!(
            s.home.zccache_stats()["total_compilations"]
                .as_u64()
                .unwrap()
                >= 8
        );
    }
}

#[test]
fn compile_errors_are_the_compilers_own() {
    let s = Shimmed::new();
    // Installed beforehand: a slow first install may rightly print notices.
    assert_ok(&s.home.install_zccache(&s.url));
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("bad.c"),
        "int x = ;\nint main(void) { return y; }\n",
    )
    .unwrap();
    let plain = Command::new("cc")
        .args(["-c", "bad.c", "-o", "bad.o"])
        .current_dir(work.path())
        .output()
        .unwrap();
    for _ in 0..2 {
        let shim = s
            .command("cc")
            .args(["-c", "bad.c", "-o", "bad.o"])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert_eq!(shim.status.code(), plain.status.code());
        assert_eq!(
            String::from_utf8_lossy(&shim.stderr),
            String::from_utf8_lossy(&plain.stderr)
        );
        assert_eq!(shim.stdout, plain.stdout);
    }
}

#[test]
fn stdin_source_and_sigint_reach_the_compiler() {
    use std::io::Write;
    let s = Shimmed::new();
    let work = tempfile::tempdir().unwrap();
    let mut child = s
        .command("cc")
        .args(["-x", "c", "-", "-o", "prog"])
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"int main(void) { return 7; }\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let code = Command::new(work.path().join("prog"))
        .status()
        .unwrap()
        .code();
    assert_eq!(code, Some(7));

    // A compile waiting on stdin: SIGINT to the shim's pid ends it.
    let mut child = s
        .command("cc")
        .args(["-x", "c", "-", "-o", "never"])
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    // The event: the compiler proper (cc1, a child of the process the shim
    // became) is running and blocked reading stdin. A SIGINT before that
    // would only test that a shim dies of SIGINT.
    let pid = child.id();
    assert!(
        wait_for(Duration::from_secs(30), || children_named(pid, "cc1")),
        "cc1 never started under pid {pid}"
    );
    kill(child.id(), libc::SIGINT);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait()));
    let status = rx
        .recv_timeout(PATIENCE)
        .expect("SIGINT did not end the compile")
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert!(!status.success());
    assert!(
        status.signal() == Some(libc::SIGINT) || status.code() == Some(130),
        "{status:?} (pid {pid})"
    );
    assert!(!work.path().join("never").exists());
    wait_until("cc1 to end with the interrupted compile", || {
        !children_named(pid, "cc1")
    });
}

/// Whether a live process named `name` has `parent` as its parent.
fn children_named(parent: u32, name: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // pid (comm) state ppid …; comm may hold spaces, so split at ')'.
            let Some((head, tail)) = stat.rsplit_once(')') else {
                return false;
            };
            let comm = head.split_once('(').map(|(_, c)| c).unwrap_or("");
            let mut fields = tail.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            comm == name && ppid == parent && state != "Z"
        })
}

#[test]
fn arguments_pass_through_byte_for_byte() {
    let s = Shimmed::new();
    let work = tempfile::tempdir().unwrap();
    let src =
        "#include <stdio.h>\nint main(void) { printf(\"%s|%s\\n\", MSG, OTHER); return 0; }\n";
    std::fs::write(work.path().join("m.c"), src).unwrap();
    // A response file, spaces and quotes inside one argument.
    std::fs::write(
        work.path().join("flags.rsp"),
        "-DOTHER=\\\"from\\ rsp\\\"\n",
    )
    .unwrap();
    let out = s
        .command("cc")
        .args(["-DMSG=\"two words 'q'\"", "@flags.rsp", "m.c", "-o", "m"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_ok(&out);
    let run = Command::new(work.path().join("m")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "two words 'q'|from rsp\n"
    );
}
