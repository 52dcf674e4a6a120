//! Platform, board and framework definitions as data (DESIGN.md, "Platforms").
//!
//! Not built yet: `atmelavr` with the Arduino framework and `native` for the
//! host land here. Nothing here pretends to work.
