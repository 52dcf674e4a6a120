//! Uploaders, serial port discovery, the serial monitor and the emulated
//! board (DESIGN.md, "Deploy"). Blocking code: the driver runs it on
//! blocking threads.

pub mod emulator;
mod error;
pub mod filters;
pub mod keyboard;
pub mod monitor;
pub mod ports;
pub mod recipe;
#[cfg(unix)]
mod termios;
#[cfg(not(unix))]
mod termios {
    //! No termios here: serial ports (`COM3`) are the serialport crate's
    //! alone. What to tell a user whose port cannot be opened.
    pub(crate) fn open_raw(_path: &str, _baud: u32) -> Result<std::fs::File, String> {
        Err(String::new())
    }
    /// The console is read a line at a time (as typed, with its echo).
    pub struct RawStdin;
    impl RawStdin {
        pub fn enter() -> Option<RawStdin> {
            None
        }
    }
    pub(crate) const OPEN_HINT: &str =
        "check the port (`fbuild device list` shows them) and that no other program has it open";
    pub(crate) const DENIED_HINT: &str =
        "another program (a serial monitor, the Arduino IDE) has it open: close it";
}
pub mod upload;

pub use error::DeployError;
