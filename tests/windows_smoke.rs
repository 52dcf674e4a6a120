//! The wine test environment (tests/common/wine.rs) works: TinyCC compiles
//! and links a Windows program that runs, zccache.exe answers, a Rust-built
//! program of the Windows build runs (the bcryptprimitives stub), processes
//! are found by image and ended by taskkill, and nothing outlives shutdown.
//! Skipped unless FBUILD_WINE_BIN and FBUILD_WINE_DEPS are set
//! (scripts/setup-windows).

mod common;

use std::time::Instant;

use common::wine::Wine;
use common::*;

const HELLO: &str = r#"#include <stdio.h>
#include <string.h>
#include <windows.h>
int main(int argc, char **argv) {
    printf("hello from tcc, pid %lu\n", GetCurrentProcessId());
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "sleep") == 0) Sleep(60000);
    return 7;
}
"#;

#[test]
fn windows_programs_run_under_wine() {
    let started = Instant::now();
    let Some(wine) = Wine::from_env() else {
        return;
    };
    eprintln!("prefix ready in {:?}", started.elapsed());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.c"), HELLO).unwrap();
    let out = wine.output(
        wine.command(wine.tcc())
            .args(["hello.c", "-o", "hello.exe"])
            .current_dir(dir.path()),
    );
    assert_ok(&out);
    let hello = dir.path().join("hello.exe");

    let first = Instant::now();
    let out = wine.run(&hello, &[]);
    eprintln!("hello.exe ran in {:?} (warm)", first.elapsed());
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("hello from tcc"),
        "{out:?}"
    );

    let out = wine.run(wine.zccache_exe(), &["--version"]);
    assert_ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("zccache {ZCCACHE_VERSION}")
    );

    // Any Rust program of the Windows build: it needs the stub to start.
    let built = std::fs::read_dir(wine.bin())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "exe"));
    match built {
        Some(exe) => {
            let out = wine.run(&exe, &["--version"]);
            eprintln!("{}: {:?}", exe.display(), out.status);
            assert_ne!(out.status.code(), Some(53), "not loaded: {out:?}");
        }
        None => eprintln!("no .exe in {} yet", wine.bin().display()),
    }

    // A live program is found by its image, by Linux and Windows pid, and
    // taskkill ends it.
    let mut sleeper = wine
        .command(&hello)
        .arg("sleep")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sleeper.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let windows_pid: u32 = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(wine.pids_of("hello.exe"), vec![sleeper.id()]);
    assert_eq!(wine.windows_pids_of("hello.exe"), vec![windows_pid]);
    assert_ok(&wine.taskkill(windows_pid));
    assert!(sleeper.wait().unwrap().success(), "wine's taskkill: exit 0");
    assert!(wine.pids_of("hello.exe").is_empty());

    // zccache's daemon, left running, ends with the prefix.
    assert_ok(&wine.run(wine.zccache_exe(), &["start"]));
    assert!(
        !wine.pids_of("zccache.exe").is_empty(),
        "{:?}",
        wine.processes()
    );
    wine.shutdown();
    assert!(wine.processes().is_empty(), "{:?}", wine.processes());
}
