//! A PlatformIO-style project: `platformio.ini` parsing and resolution.

pub mod config;
mod extends;
pub mod ini;

use config::split_list;

pub use config::{EnvConfig, Project};
