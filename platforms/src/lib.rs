//! Platform, board and framework definitions as data (DESIGN.md,
//! "Platforms"). Today: which real tool each shim stands for on each
//! platform. Boards and frameworks land here with `fbuild build`.

mod tools;

pub use tools::{KNOWN_PLATFORMS, ToolClass, classify, real_tool_name};
