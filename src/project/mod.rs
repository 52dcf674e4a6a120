//! A PlatformIO-style project: `platformio.ini` parsing and resolution.

pub mod config;
pub mod ini;

pub use config::{EnvConfig, Project};
