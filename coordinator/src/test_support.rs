//! What the coordinator's unit tests share: settings for a private home
//! (nothing read from the developer's environment), a folder of stand-in
//! tools to put on a request's PATH, and an event channel nobody reads.

use std::ffi::OsString;
use std::path::Path;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use tokio::sync::mpsc::UnboundedSender;

/// Settings with only `FBUILD_HOME` set, its coordinator folder made.
pub fn settings(home: &Path) -> Settings {
    let home = home.to_path_buf();
    let settings =
        Settings::from_vars(|k| (k == "FBUILD_HOME").then(|| home.clone().into())).unwrap();
    std::fs::create_dir_all(settings.home.coordinator_dir()).unwrap();
    settings
}

/// Executable stand-ins named `names` in `dir` (the fake runner answers
/// for them; they are only found on PATH); `dir` as a PATH.
pub fn tools_on_path(dir: &Path, names: &[&str]) -> OsString {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        let file = dir.join(name);
        std::fs::write(&file, "#!/bin/sh\nexit 99\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir.as_os_str().to_os_string()
}

/// Install events go nowhere.
pub fn events() -> UnboundedSender<InstallStatus> {
    tokio::sync::mpsc::unbounded_channel().0
}
