//! Uploaders, serial port discovery, the serial monitor and the emulated
//! board (DESIGN.md, "Deploy"). Blocking code: the driver runs it on
//! blocking threads.

pub mod emulator;
mod error;
pub mod monitor;
pub mod ports;
pub mod recipe;
mod termios;
pub mod upload;

pub use error::DeployError;
