//! A PlatformIO-style project: `platformio.ini` parsing and resolution.

pub mod config;
mod extends;
pub mod ini;
mod options;
mod resolve;
pub(crate) mod sysenv;
mod values;

use values::split_list;

pub use config::{EnvConfig, LdfMode, MonitorConfig, Project, TestConfig};
pub use ini::ConfigError;
