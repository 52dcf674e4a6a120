//! What every fbuild binary shares: the coordinator wire protocol, the layout
//! of `FBUILD_HOME`, settings read from the environment (one seam), named
//! timeouts, the seam through which every tool is started, and the
//! version of this build. Synchronous and small: the shim
//! links it and must start fast.

pub mod cache_figures;
pub mod console;
pub mod depfile;
pub mod hash;
pub mod home;
pub mod info;
pub mod install_status;
pub mod library_wire;
mod link_args;
pub mod link_fingerprint;
mod link_folders;
pub mod link_inputs;
pub mod link_store;
pub mod lock;
pub mod lto_seed;
pub mod one_step;
#[cfg(windows)]
pub mod pipe;
pub mod plan_wire;
pub mod platform;
pub mod probe_store;
pub mod procs;
pub mod protocol;
pub mod ranlib_store;
pub mod resolve;
pub mod sccache_stats;
pub mod settings;
pub mod stamp;
pub mod time;
pub mod timed_read;
pub mod tool;
pub mod version;
pub mod wire_os;
pub mod words;
pub mod zwire;

pub use home::Home;
pub use settings::Settings;
