//! The template wine prefix the tests' prefixes are cloned from (see
//! `wine.rs`): made once per wine version under a lock, cloned with its
//! PE files as hard links.

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;

use super::wine::wine_env;
use super::{assert_ok, clean_command};

/// File names hard-linked from the template rather than copied: the
/// prefix's PE files and data wine only reads.
const SHARED_EXTENSIONS: &[&str] = &[
    "dll", "exe", "nls", "sys", "drv", "ocx", "cpl", "acm", "tlb", "ds", "com", "ax", "msstyles",
    "icm",
];

/// The version of wine a template was made by.
fn wine_version(loader: &Path) -> String {
    let out = clean_command(loader).arg("--version").output().unwrap();
    assert_ok(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes the template prefix unless one by this wine is there, under a lock
/// (test processes racing for it make one).
pub(super) fn ensure_template(template: &Path, loader: &Path, server: &Path) {
    let version = wine_version(loader);
    let marker = template.join(".fbuild-template");
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|v| v == version);
    if ready() {
        return;
    }
    std::fs::create_dir_all(template.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(template.with_extension("lock")).unwrap();
    // SAFETY: flock(2) on a file this process opened; released on close.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    if ready() {
        return;
    }
    let _ = std::fs::remove_dir_all(template);
    // Output to a file, not pipes: the wineserver and services it starts
    // would hold pipes open.
    let log_path = template.with_extension("log");
    let run = |program: &Path, args: &[&str]| {
        let log = std::fs::File::create(&log_path).unwrap();
        let status = wine_env(clean_command(program).args(args), template, server)
            // No Mono or Gecko installer: nothing here uses .NET or HTML.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "{} {args:?}: {status}\n{}",
            program.display(),
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    };
    run(loader, &["wineboot", "-i"]);
    // Until wine's services are gone and the registry is on disk.
    run(server, &["-w"]);
    std::fs::write(&marker, &version).unwrap();
}

/// Copies the tree `from` into the existing dir `to`: symlinks as symlinks,
/// wine's PE files as hard links (copies across file systems).
pub(super) fn clone_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if kind.is_dir() {
            std::fs::create_dir(&dst).unwrap();
            clone_tree(&src, &dst);
        } else {
            let shared = src
                .extension()
                .and_then(OsStr::to_str)
                .is_some_and(|e| SHARED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if !(shared && std::fs::hard_link(&src, &dst).is_ok()) {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }
}
