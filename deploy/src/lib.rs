//! Uploaders, serial port discovery, the serial monitor and the emulated
//! board (DESIGN.md, "Deploy"). Blocking code: the driver runs it on
//! blocking threads.

pub mod emulator;
mod error;
pub mod monitor;
pub mod ports;
pub mod recipe;
#[cfg(unix)]
mod termios;
#[cfg(not(unix))]
mod termios {
    //! No termios here: serial ports are the serialport crate's alone.
    pub(crate) fn open_raw(
        _path: &str,
        _baud: u32,
    ) -> Result<Box<dyn std::io::Read + Send>, String> {
        Err("not a serial port".into())
    }
}
pub mod upload;

pub use error::DeployError;
