//! The socket itself: hostile input closes only that connection, the socket
//! is private to its user, and deep homes get a short, private socket path.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

use common::*;

fn socket_of(home: &TestHome) -> PathBuf {
    PathBuf::from(home.status_json()["socket"].as_str().unwrap())
}

/// Sends `bytes`, closes our write side, and returns what came back.
fn exchange(socket: &PathBuf, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes); // the coordinator may close on us mid-write
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

#[test]
fn garbage_truncated_and_oversized_input_close_only_that_connection() {
    let home = TestHome::new();
    let pid = home.start();
    let socket = socket_of(&home);

    let answer = exchange(&socket, b"this is not json\n");
    assert!(answer.contains("\"malformed\""), "{answer}");

    let answer = exchange(&socket, br#"{"hello":{"version":"0.1.0","proto"#);
    assert_eq!(answer, "", "a truncated frame gets no answer");

    let mut huge = vec![b'x'; 10 * 1024 * 1024];
    huge.push(b'\n');
    let answer = exchange(&socket, &huge);
    assert!(
        answer.is_empty() || answer.contains("longer than"),
        "{answer}"
    );

    let unknown = br#"{"hello":{"version":"9.9.9","protocol":9,"pid":1},"request":{"type":"flash_board","port":"x"}}
"#;
    let answer = exchange(&socket, unknown);
    assert!(answer.contains("\"unsupported\""), "{answer}");

    // A client that connects and says nothing does not block others.
    let _idle = UnixStream::connect(&socket).unwrap();
    assert_eq!(home.start(), pid);
    assert_eq!(home.status_json()["pid"], pid);
}

#[test]
fn socket_is_private_to_its_user() {
    let home = TestHome::new();
    home.start();
    let socket = socket_of(&home);
    let dir_mode = std::fs::metadata(home.path().join("coordinator"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let sock_mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(sock_mode & 0o077, 0, "socket mode {sock_mode:o}");

    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return; // Cannot switch users: the modes above are the guarantee.
    }
    // Open every directory above the coordinator dir, so only fbuild's own
    // modes stand between another user and the socket.
    let mut open = home.path().to_path_buf();
    loop {
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        if !open.pop() || open == std::path::Path::new("/tmp") {
            break;
        }
    }
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint('connected')",
        ])
        .arg(&socket)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("python3 as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody connected to the socket");
    assert!(stderr.contains("PermissionError"), "{stderr}");
}

#[test]
fn deep_home_gets_a_short_private_socket() {
    let home = TestHome::deep();
    let direct = home.path().join("coordinator/coordinator.sock");
    assert!(direct.as_os_str().len() > 108, "home is not deep enough");
    let pid = home.start();
    let socket = socket_of(&home);
    assert!(socket.as_os_str().len() <= 100, "{}", socket.display());
    let dir = socket.parent().unwrap();
    let mode = std::fs::metadata(dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
    assert_eq!(home.start(), pid);
    // Stopping removes the socket from the shared runtime dir.
    assert!(home.run(&["daemon", "stop"]).status.success());
    assert!(!socket.exists());
}
