//! Pseudo-terminal pairs standing in for a board's serial port (the
//! monitor reads the slave; the test writes the master).

use std::os::fd::{FromRawFd, OwnedFd};

/// A pty pair: (master, slave path), the slave in raw mode.
pub fn pty_pair() -> (OwnedFd, String) {
    let (mut master, mut slave) = (0, 0);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: openpty fills the two fds and the name buffer we pass.
    unsafe {
        assert_eq!(
            libc::openpty(
                &mut master,
                &mut slave,
                name.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null()
            ),
            0
        );
        // openpty's fds are inheritable; children must not hold them.
        for fd in [master, slave] {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave, libc::TCSANOW, &t);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        // Keep the slave open until the monitor has it (a pty whose slave
        // has never been opened reads EIO).
        std::mem::forget(OwnedFd::from_raw_fd(slave));
        (OwnedFd::from_raw_fd(master), path)
    }
}

/// Runs `cmd` with its stderr on a fresh pty (stdout discarded), reading
/// the pty while it runs: (success, what the terminal received).
#[allow(dead_code)]
pub fn stderr_on_a_terminal(mut cmd: std::process::Command) -> (bool, String) {
    use std::io::Read;
    let (master, slave) = pty_pair();
    let tty = std::fs::OpenOptions::new()
        .write(true)
        .open(&slave)
        .unwrap();
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(tty)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(master);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
    // SAFETY: fcntl and poll on a descriptor this test owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut bytes = Vec::new();
    loop {
        let done = child.try_wait().unwrap();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
        if let Some(status) = done {
            return (
                status.success(),
                String::from_utf8_lossy(&bytes).into_owned(),
            );
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd for a descriptor this test owns; returns on
        // output or after 50 ms to look at the child again.
        unsafe { libc::poll(&mut pfd, 1, 50) };
    }
}
