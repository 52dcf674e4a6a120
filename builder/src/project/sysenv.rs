//! PlatformIO's `PLATFORMIO_*` environment variables: which option each
//! sets, and how (PlatformIO's rule: a variable has the highest priority;
//! for an option of several values it is added after the file's, for one
//! value it replaces it); and the variables fbuild does not use, named so
//! that nothing is ignored silently.

/// `(option, variables)`: the option of `[env]` or `[platformio]` each
/// variable sets, the current name first, then PlatformIO's older one.
const OPTIONS: &[(&str, &[&str])] = &[
    ("build_flags", &["PLATFORMIO_BUILD_FLAGS"]),
    (
        "build_src_flags",
        &["PLATFORMIO_BUILD_SRC_FLAGS", "PLATFORMIO_SRC_BUILD_FLAGS"],
    ),
    (
        "build_src_filter",
        &["PLATFORMIO_BUILD_SRC_FILTER", "PLATFORMIO_SRC_FILTER"],
    ),
    ("upload_port", &["PLATFORMIO_UPLOAD_PORT"]),
    ("upload_flags", &["PLATFORMIO_UPLOAD_FLAGS"]),
    ("extra_scripts", &["PLATFORMIO_EXTRA_SCRIPTS"]),
    ("default_envs", &["PLATFORMIO_DEFAULT_ENVS"]),
    ("src_dir", &["PLATFORMIO_SRC_DIR"]),
    ("include_dir", &["PLATFORMIO_INCLUDE_DIR"]),
    ("lib_dir", &["PLATFORMIO_LIB_DIR"]),
    ("build_dir", &["PLATFORMIO_BUILD_DIR"]),
];

/// Options of several values: a variable's value comes after the file's.
const MULTIPLE: &[&str] = &[
    "build_flags",
    "build_src_flags",
    "build_src_filter",
    "upload_flags",
    "extra_scripts",
    "default_envs",
];

/// The variable set for `option`, if any: `(name, value)`.
pub(crate) fn variable(option: &str) -> Option<(&'static str, String)> {
    let (_, names) = OPTIONS.iter().find(|(o, _)| *o == option)?;
    names.iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    })
}

/// `option`'s value with its variable applied to the file's (`ini`).
pub(super) fn apply(option: &str, ini: Option<String>) -> Option<String> {
    let Some((_, value)) = variable(option) else {
        return ini;
    };
    match ini {
        Some(ini) if MULTIPLE.contains(&option) => Some(format!("{ini}\n{value}")),
        _ => Some(value),
    }
}

/// The `PLATFORMIO_*` variables set here that fbuild does not use, sorted.
pub(super) fn unused() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PLATFORMIO_"))
        .filter(|k| !OPTIONS.iter().any(|(_, names)| names.contains(&k.as_str())))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_multiple_option_has_a_variable() {
        for option in MULTIPLE {
            assert!(OPTIONS.iter().any(|(o, _)| o == option), "{option}");
        }
    }
}
