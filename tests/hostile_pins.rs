//! Git refs and lock pins (issue 29): a git `#ref` is never an option to
//! git; a lock file's wrong pin never deletes the good stored copy other
//! projects use and is named as the lock's, a failed network is not; a
//! pinned commit gone from its repository names the lock.

mod common;

use common::hostile::*;
use common::http::TestServer;
use common::*;

#[test]
fn a_git_ref_is_never_an_option() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("git/Lib");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("library.properties"), "name=Lib\nversion=1.0.0\n").unwrap();
    std::fs::write(repo.join("src/Lib.c"), "int lib(void) { return 1; }\n").unwrap();
    common::libfix::git(&repo, &["init", "-q"]);
    common::libfix::git(&repo, &["add", "-A"]);
    common::libfix::git(&repo, &["commit", "-qm", "one"]);
    for reference in ["--orphan=zz", "--detach", "-f"] {
        let proj = project(
            &work.path().join(reference),
            &[format!("Lib=git+file://{}#{reference}", repo.display())],
        );
        let out = build(&home, &proj, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{reference}: {err}");
        assert!(
            err.contains(&format!("#{reference} is not a tag, branch or commit name")),
            "{reference}: {err}"
        );
        assert!(!proj.join("fbuild.lock").exists());
    }
    assert!(store(&home).is_empty());

    // A lock's commit that its repository no longer has (the tag moved,
    // the old commit collected) is blamed on the lock.
    common::libfix::git(&repo, &["tag", "v1"]);
    let proj = project(
        &work.path().join("pinned"),
        &[format!("Lib=git+file://{}#v1", repo.display())],
    );
    assert_ok(&build(&home, &proj, &[]));
    let lock = std::fs::read_to_string(proj.join("fbuild.lock")).unwrap();
    common::libfix::git(&repo, &["commit", "-q", "--amend", "-m", "rewritten"]);
    common::libfix::git(&repo, &["tag", "-f", "v1"]);
    common::libfix::git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    common::libfix::git(&repo, &["gc", "-q", "--prune=now"]);
    let fresh = TestHome::new();
    let out = build(&fresh, &proj, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let commit = lock
        .split('"')
        .find(|w| w.len() == 40 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("a commit in the lock");
    assert!(
        err.contains(&format!(
            "fbuild.lock: library Lib is pinned to commit {commit}"
        )) && err.contains("fbuild lib update"),
        "{err}"
    );
}

#[test]
fn a_wrong_pin_in_one_lock_file_keeps_the_store_copy_others_use() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    tarball(&served.join("Lib-1.0.0.tar.gz"), "");
    let server = TestServer::serve(&served);
    let url = format!("{}/Lib-1.0.0.tar.gz", server.url());
    let good = project(&work.path().join("good"), std::slice::from_ref(&url));
    assert_ok(&build(&home, &good, &[]));
    let stored = store(&home);
    assert_eq!(stored.len(), 1, "{stored:?}");

    // Another project's lock pins a sha256 the archive does not have.
    let bad = project(&work.path().join("bad"), std::slice::from_ref(&url));
    let lock = std::fs::read_to_string(good.join("fbuild.lock")).unwrap();
    let right = lock
        .split('"')
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("a sha256 in the lock")
        .to_string();
    std::fs::write(
        bad.join("fbuild.lock"),
        lock.replace(&right, &"0".repeat(64)),
    )
    .unwrap();
    let out = build(&home, &bad, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("fbuild.lock") && err.contains(&"0".repeat(64)),
        "{err}"
    );
    assert_eq!(store(&home), stored, "the good copy was touched");

    // The good project still builds with the server gone.
    drop(server);
    let out = home
        .fbuild(&["build", good.to_str().unwrap(), "--clean", "--locked"])
        .env("FBUILD_ZCCACHE", "off")
        .output()
        .unwrap();
    assert_ok(&out);

    // A network failure is the network's: the lock is not blamed for it.
    let fresh = TestHome::new();
    let out = build(&fresh, &good, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(!err.contains("is pinned to sha256"), "{err}");
}
