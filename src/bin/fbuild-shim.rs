//! The `fbuild-shim` binary behind `cc`, `c++`, `ar`, `ld`; all of it lives
//! in the `shim/` crate.

fn main() {
    fbuild_shim::main()
}
