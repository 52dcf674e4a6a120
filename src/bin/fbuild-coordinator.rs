//! The `fbuild-coordinator` binary; all of it lives in the `coordinator/`
//! crate.

fn main() -> std::process::ExitCode {
    fbuild_coordinator::main()
}
