//! A serial line in raw mode at an exact baud rate, for the devices the
//! serialport crate cannot open (a pty: its modem-line ioctls fail).
//!
//! Hazard: the classic termios API knows only the `Bnnn` constants, and the
//! code before this mapped every other rate to 9600 without a word (a
//! sketch at 250000 baud showed garbage). On Linux the termios2 ioctls take
//! any rate (`BOTHER` with the number itself); the rate is read back and a
//! device that does not take it exactly is an error that says so. Elsewhere
//! only the standard rates are accepted. Windows has no ptys and no
//! termios: its `COMn` ports are the serialport crate's alone.
//!
//! Also the keyboard's raw mode for the monitor ([`RawStdin`]): keys as
//! they are typed, Ctrl-C as a byte, output processing kept.

use std::os::fd::RawFd;

/// What to check when a port cannot be opened.
pub(crate) const OPEN_HINT: &str = "check the port, and that you are in the `dialout` group";
/// What to do when opening a port is refused.
pub(crate) const DENIED_HINT: &str =
    "add yourself to the `dialout` group (sudo usermod -aG dialout $USER) and log in again";

/// Opens a device the serialport crate refused (a pty) in raw mode at
/// `baud`.
pub fn open_raw(path: &str, baud: u32) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    configure(file.as_raw_fd(), baud)?;
    Ok(file)
}

/// Stdin in raw mode while this lives (its old mode back on drop).
pub struct RawStdin {
    saved: libc::termios,
}

impl RawStdin {
    /// `None` when stdin is no terminal (a pipe is read as it comes).
    pub fn enter() -> Option<RawStdin> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed struct that
        // tcgetattr fills; nothing is changed when it fails.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            raw.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN);
            raw.c_iflag &= !(libc::IXON | libc::ICRNL | libc::INLCR);
            raw.c_cc[libc::VMIN] = 1;
            raw.c_cc[libc::VTIME] = 0;
            if libc::tcsetattr(0, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawStdin { saved })
        }
    }
}

impl Drop for RawStdin {
    fn drop(&mut self) {
        // SAFETY: the mode read in `enter`, back on the same fd.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.saved) };
    }
}

/// Raw mode, reads that return after 0.2 s without data (so a paused
/// monitor notices the pause), and `baud` exactly.
pub fn configure(fd: RawFd, baud: u32) -> Result<(), String> {
    // SAFETY: termios calls on an fd the caller owns, with a zeroed struct
    // filled by tcgetattr.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(format!("tcgetattr: {}", std::io::Error::last_os_error()));
        }
        libc::cfmakeraw(&mut t);
        t.c_cc[libc::VMIN] = 0;
        t.c_cc[libc::VTIME] = 2;
        if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
            return Err(format!("tcsetattr: {}", std::io::Error::last_os_error()));
        }
    }
    set_speed(fd, baud)
}

#[cfg(target_os = "linux")]
fn set_speed(fd: RawFd, baud: u32) -> Result<(), String> {
    // SAFETY: TCGETS2/TCSETS2 on an fd the caller owns, with a termios2
    // the kernel fills first.
    unsafe {
        let mut t: libc::termios2 = std::mem::zeroed();
        if libc::ioctl(fd, libc::TCGETS2, &mut t) != 0 {
            return Err(format!("TCGETS2: {}", std::io::Error::last_os_error()));
        }
        t.c_cflag &= !libc::CBAUD;
        t.c_cflag |= libc::BOTHER;
        t.c_ispeed = baud;
        t.c_ospeed = baud;
        if libc::ioctl(fd, libc::TCSETS2, &t) != 0 {
            return Err(format!(
                "setting {baud} baud: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    match read_speed(fd)? {
        got if got == baud => Ok(()),
        got => Err(format!(
            "the device took {got} baud when asked for {baud}; pick a rate it supports"
        )),
    }
}

#[cfg(target_os = "linux")]
fn read_speed(fd: RawFd) -> Result<u32, String> {
    // SAFETY: as above.
    unsafe {
        let mut t: libc::termios2 = std::mem::zeroed();
        if libc::ioctl(fd, libc::TCGETS2, &mut t) != 0 {
            return Err(format!("TCGETS2: {}", std::io::Error::last_os_error()));
        }
        Ok(t.c_ospeed)
    }
}

#[cfg(not(target_os = "linux"))]
const STANDARD: &[(u32, libc::speed_t)] = &[
    (1200, libc::B1200),
    (2400, libc::B2400),
    (4800, libc::B4800),
    (9600, libc::B9600),
    (19200, libc::B19200),
    (38400, libc::B38400),
    (57600, libc::B57600),
    (115200, libc::B115200),
    (230400, libc::B230400),
];

#[cfg(not(target_os = "linux"))]
fn set_speed(fd: RawFd, baud: u32) -> Result<(), String> {
    let Some((_, code)) = STANDARD.iter().find(|(b, _)| *b == baud) else {
        let known: Vec<String> = STANDARD.iter().map(|(b, _)| b.to_string()).collect();
        return Err(format!(
            "{baud} baud cannot be set on this system; use one of {}",
            known.join(", ")
        ));
    };
    // SAFETY: termios calls on an fd the caller owns.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0
            || libc::cfsetspeed(&mut t, *code) != 0
            || libc::tcsetattr(fd, libc::TCSANOW, &t) != 0
        {
            return Err(format!(
                "setting {baud} baud: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn read_speed(fd: RawFd) -> Result<u32, String> {
    // SAFETY: as above.
    let code = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(format!("tcgetattr: {}", std::io::Error::last_os_error()));
        }
        libc::cfgetospeed(&t)
    };
    STANDARD
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(b, _)| *b)
        .ok_or_else(|| "the line runs at a rate this build does not know".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A pty pair; the follower end is what a monitor opens.
    fn pty() -> (std::fs::File, std::fs::File) {
        let (mut leader, mut follower) = (0, 0);
        // SAFETY: openpty fills two fds that we then own.
        let rc = unsafe {
            libc::openpty(
                &mut leader,
                &mut follower,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh fds from openpty.
        unsafe {
            use std::os::fd::FromRawFd;
            (
                std::fs::File::from_raw_fd(leader),
                std::fs::File::from_raw_fd(follower),
            )
        }
    }

    #[test]
    fn rates_beyond_the_classic_table_are_set_exactly() {
        let (_leader, follower) = pty();
        for baud in [
            9600, 38400, 115200, 230400, 250000, 500000, 1000000, 2000000,
        ] {
            configure(follower.as_raw_fd(), baud).unwrap_or_else(|e| panic!("{baud}: {e}"));
            assert_eq!(read_speed(follower.as_raw_fd()).unwrap(), baud);
        }
    }

    #[test]
    fn a_file_that_is_not_a_tty_is_a_clear_error() {
        let file = tempfile::tempfile().unwrap();
        let err = configure(file.as_raw_fd(), 115200).unwrap_err();
        assert!(err.contains("tcgetattr"), "{err}");
        assert!(err.contains("Inappropriate ioctl"), "{err}");
    }
}
