//! Platform, board and framework definitions as data (DESIGN.md,
//! "Platforms"): the boards of each platform (`data/*.json`) and the real
//! tool each shim stands for on each platform.

pub mod arduino;
mod boards;
mod packages;
mod tools;

pub use boards::{Board, PlatformData, ToolNames, Upload, board, platform};
pub use packages::{Download, Package, PackageIndex, builtin_index, host};
pub use tools::{KNOWN_PLATFORMS, ToolClass, classify, real_tool_name};
