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
