//! Platform knowledge as data (DESIGN.md, "Platforms are data"): Arduino
//! cores read by their own platform.txt/boards.txt (`arduino`), PlatformIO
//! board ids as FQBNs and the host as a platform (`data/`), each
//! platform's toolchain names, managed packages, and the real tool each
//! shim stands for.

pub mod arduino;
mod boards;
mod tools;

pub use boards::{ManagedPackages, PlatformData, SystemCore, ToolNames, platform, platform_names};
pub use tools::{ToolClass, classify, real_tool_name};
