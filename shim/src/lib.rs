//! The compiler shims `cc`, `c++`, `ar`, `ld` (DESIGN.md, "The pieces").
//!
//! Not built yet: this crate is reserved for the shim executable (classify the
//! tool from argv[0], ask the coordinator for an exec plan through
//! `fbuild-client`, exec it, fail open). Nothing here pretends to work.
