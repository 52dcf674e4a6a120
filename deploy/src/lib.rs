//! Uploaders, serial port discovery, the serial monitor and the emulated board
//! (DESIGN.md, "Deploy").
//!
//! Not built yet: nothing here pretends to work.
