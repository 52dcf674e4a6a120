//! Tool classes and the real tool behind each shim, per platform.

/// What a shim stands for, from the name it was invoked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolClass {
    C,
    Cxx,
    Ar,
    Ld,
    /// `ranlib`: an archive's symbol index, written in place.
    Ranlib,
}

/// Classifies a tool by its file name (DESIGN.md): names ending in
/// `c++`/`g++`/`clang++` are C++ compilers, `cc`/`gcc`/`clang` C compilers,
/// `ar` (so `gcc-ar`) archivers, `ranlib` (`gcc-ranlib`) index writers,
/// `ld` linkers. So `avr-gcc`, `x86_64-linux-gnu-g++` or `clang` work as
/// masquerade names too.
pub fn classify(name: &str) -> Option<ToolClass> {
    let name = name.strip_suffix(".exe").unwrap_or(name);
    if ["c++", "g++", "clang++"].iter().any(|s| name.ends_with(s)) {
        Some(ToolClass::Cxx)
    } else if ["cc", "gcc", "clang"].iter().any(|s| name.ends_with(s)) {
        Some(ToolClass::C)
    } else if name.ends_with("ranlib") {
        Some(ToolClass::Ranlib)
    } else if name.ends_with("ar") {
        Some(ToolClass::Ar)
    } else if name.ends_with("ld") {
        Some(ToolClass::Ld)
    } else {
        None
    }
}

/// `FBUILD_PLATFORM` names no platform of the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown FBUILD_PLATFORM={platform:?}; known: {known}")]
pub struct UnknownPlatform {
    pub platform: String,
    pub known: String,
}

/// The real tool's file name for a shim invoked as `invoked` on `platform`
/// (`FBUILD_PLATFORM`): the platform's toolchain (`data/<platform>.json`),
/// or the name the shim was invoked as where the data says so (the host).
pub fn real_tool_name(
    platform: &str,
    class: ToolClass,
    invoked: &str,
) -> Result<String, UnknownPlatform> {
    let Some(data) = crate::boards::platform(platform) else {
        return Err(UnknownPlatform {
            platform: platform.to_string(),
            known: crate::boards::platform_names().join(", "),
        });
    };
    if data.tools_as_invoked {
        return Ok(invoked.to_string());
    }
    let t = &data.toolchain;
    Ok(match class {
        ToolClass::C => t.cc.clone(),
        ToolClass::Cxx => t.cxx.clone(),
        ToolClass::Ar => t.ar.clone(),
        ToolClass::Ld => t.ld.clone(),
        // The archiver's own (`avr-gcc-ar`: `avr-gcc-ranlib`, with the
        // LTO plugin as its `ar`).
        ToolClass::Ranlib => match t.ar.strip_suffix("ar") {
            Some(stem) => format!("{stem}ranlib"),
            None => "ranlib".to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_name() {
        for (name, class) in [
            ("cc", ToolClass::C),
            ("gcc", ToolClass::C),
            ("avr-gcc", ToolClass::C),
            ("clang", ToolClass::C),
            ("c++", ToolClass::Cxx),
            ("g++", ToolClass::Cxx),
            ("clang++", ToolClass::Cxx),
            ("ar", ToolClass::Ar),
            ("avr-gcc-ar", ToolClass::Ar),
            ("ld", ToolClass::Ld),
            ("ranlib", ToolClass::Ranlib),
            ("avr-gcc-ranlib", ToolClass::Ranlib),
        ] {
            assert_eq!(classify(name), Some(class), "{name}");
        }
        assert_eq!(classify("fbuild-shim"), None);
        assert_eq!(classify("make"), None);
    }

    #[test]
    fn platforms_map_tools() {
        assert_eq!(
            real_tool_name("native", ToolClass::C, "gcc").unwrap(),
            "gcc"
        );
        assert_eq!(
            real_tool_name("atmelavr", ToolClass::C, "cc").unwrap(),
            "avr-gcc"
        );
        assert_eq!(
            real_tool_name("atmelavr", ToolClass::Ar, "ar").unwrap(),
            "avr-gcc-ar"
        );
        assert_eq!(
            real_tool_name("atmelavr", ToolClass::Ld, "ld").unwrap(),
            "avr-ld"
        );
        assert_eq!(
            real_tool_name("atmelavr", ToolClass::Ranlib, "ranlib").unwrap(),
            "avr-gcc-ranlib"
        );
        let err = real_tool_name("esp32", ToolClass::C, "cc").unwrap_err();
        let err = err.to_string();
        assert!(err.contains("esp32") && err.contains("atmelavr"), "{err}");
    }
}
