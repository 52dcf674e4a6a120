//! `platformio.ini` as a project: `[platformio]` options, the common `[env]`,
//! `[env:NAME]` sections with `extends`, `${section.key}` interpolation,
//! and the keys fbuild understands (others are warned about). The model
//! and its questions live here; reading the file into it, in `resolve`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ini::ConfigError;
pub use super::options::{LdfMode, MonitorConfig, TestConfig};
pub use super::values::{boolean, split_flags};

/// One build environment, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    pub name: String,
    /// `extra_scripts`: PlatformIO's SCons scripts, which fbuild cannot
    /// run; the environment is refused with this error (naming the file
    /// and line) when it is built.
    pub extra_scripts: Option<ConfigError>,
    pub platform: fbuild_core::platform::Platform,
    pub board: Option<String>,
    pub framework: Option<String>,
    pub build_flags: Vec<String>,
    /// `build_src_flags`: flags for the project's own sources only (after
    /// `build_flags`), not its libraries' or the core's.
    pub build_src_flags: Vec<String>,
    pub build_unflags: Vec<String>,
    pub build_src_filter: Vec<String>,
    /// `build_warnings` (fbuild's; Arduino's levels `none`, `default`,
    /// `more`, `all`): unless set, `more` (`-Wall`) for a board's core and
    /// `default` (nothing added) for the host, as PlatformIO compiles;
    /// `fbuild ci` writes `none`, as arduino-cli.
    pub warnings: String,
    pub lib_deps: Vec<String>,
    /// `lib_ignore`: library names the build never uses.
    pub lib_ignore: Vec<String>,
    /// `lib_extra_dirs`: more folders of libraries, like `lib/`.
    pub lib_extra_dirs: Vec<PathBuf>,
    /// `lib_ldf_mode`: `off`, `chain` (default) or `deep`.
    pub lib_ldf_mode: LdfMode,
    /// `lib_compat_mode`: `soft` (default) checks a library's platforms,
    /// frameworks and architectures; `off` does not.
    pub lib_compat_check: bool,
    /// `lib_archive` (default yes): each library is an archive on the link
    /// line, so its unreferenced objects (and their interrupt handlers)
    /// stay out of the firmware; `no` links every object.
    pub lib_archive: bool,
    pub upload_port: Option<String>,
    pub upload_speed: Option<u32>,
    /// `upload_protocol`: an Arduino programmer's id (`usbasp`,
    /// `arduinoisp`, …, from the core's `programmers.txt`) to upload
    /// through instead of the board's bootloader.
    pub upload_protocol: Option<String>,
    /// `upload_flags`: more arguments for the upload tool.
    pub upload_flags: Vec<String>,
    pub monitor_speed: Option<u32>,
    pub monitor: MonitorConfig,
    /// `board_build.X` and `board_upload.X` as the core's `build.X` and
    /// `upload.X` properties (PlatformIO's way to change f_cpu, mcu, …).
    pub board_overrides: Vec<(String, String)>,
    /// `platform_index_urls`: Arduino package indexes searched, in order,
    /// for `platform = vendor:arch[@version]`.
    pub platform_index_urls: Vec<String>,
    /// `test_*` options, for `fbuild test`.
    pub test: TestConfig,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub file: PathBuf,
    pub src_dir: PathBuf,
    /// `include_dir` (default `include/`): on every compile's include path,
    /// as PlatformIO puts it, when it exists.
    pub include_dir: PathBuf,
    pub lib_dir: PathBuf,
    pub build_dir: PathBuf,
    pub default_envs: Vec<String>,
    pub envs: BTreeMap<String, EnvConfig>,
    /// The environments' names in the order of their sections (the order
    /// they are built in when none is chosen, as PlatformIO's).
    pub env_order: Vec<String>,
    /// More sources built with `src_dir`, and their filter: set by `fbuild
    /// test` (a suite is `src_dir`, the project's `src/` comes along with
    /// `test_build_src`); never from the ini.
    pub also_src: Option<(PathBuf, Vec<String>)>,
    /// Unknown keys and similar, for the user to see.
    pub warnings: Vec<String>,
}

impl Project {
    /// The environments to build: `selected` (each may be a
    /// comma-separated list, `-e uno,nano`), else `default_envs`, else all
    /// in the file's order.
    pub fn select(&self, selected: &[String]) -> Result<Vec<&EnvConfig>, ConfigError> {
        // A name twice (`-e a,a`; `default_envs` and PLATFORMIO_DEFAULT_ENVS
        // both naming it) is one build, as PlatformIO's.
        let once = |names: &mut dyn Iterator<Item = &str>| {
            let mut out: Vec<String> = Vec::new();
            for name in names.filter(|n| !n.is_empty()) {
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
            out
        };
        let names: Vec<String> = if !selected.is_empty() {
            let names = once(&mut selected.iter().flat_map(|s| s.split(',')).map(str::trim));
            if names.is_empty() {
                return Err(self.error(
                    None,
                    format!("-e {:?} names no environment", selected.join(" ")),
                ));
            }
            names
        } else if !self.default_envs.is_empty() {
            once(&mut self.default_envs.iter().map(String::as_str))
        } else {
            self.env_order.clone()
        };
        if names.is_empty() {
            return Err(self.error(None, "no [env:NAME] section: nothing to build".into()));
        }
        names
            .iter()
            .map(|n| {
                self.envs.get(n).ok_or_else(|| {
                    let known: Vec<&str> = self.envs.keys().map(String::as_str).collect();
                    self.error(
                        None,
                        format!("unknown environment {n:?}; known: {}", known.join(", ")),
                    )
                })
            })
            .collect()
    }

    fn error(&self, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::values::split_filter;
    use super::*;

    fn project(text: &str) -> Result<Project, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("platformio.ini"), text).unwrap();
        Project::load(dir.path())
    }

    #[test]
    fn extends_interpolation_and_common_env() {
        let p = project(
            "[platformio]\ndefault_envs = uno\n\n[common]\nflags = -DCOMMON=1\n\n[env]\nframework = arduino\nmonitor_speed = 9600\n\n[env:base]\nplatform = atmelavr\nbuild_flags = ${common.flags} -DBASE\n\n[env:uno]\nextends = env:base\nboard = uno\nbuild_flags = ${env:base.build_flags} -DNAME=\"two words\"\nfoo = bar\n",
        )
        .unwrap();
        let uno = &p.envs["uno"];
        assert_eq!(uno.platform, "atmelavr");
        assert_eq!(uno.framework.as_deref(), Some("arduino"));
        assert_eq!(uno.monitor_speed, Some(9600));
        assert_eq!(
            uno.build_flags,
            vec!["-DCOMMON=1", "-DBASE", "-DNAME=\"two words\""]
        );
        assert_eq!(p.select(&[]).unwrap()[0].name, "uno");
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains(":19: unknown option `foo`"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn clear_errors() {
        let e = project("[env:a]\nplatform = atmelavr\nbuild_flags = ${nope.x}\n").unwrap_err();
        assert!(
            e.to_string().contains(":3:") && e.to_string().contains("no `x` in [nope]"),
            "{e}"
        );
        let e = project("[env:a]\nboard = uno\n").unwrap_err();
        assert!(e.to_string().contains("has no `platform`"), "{e}");
        let p = project("[env:a]\nplatform = native\n").unwrap();
        let e = p.select(&["b".to_string()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown environment \"b\"; known: a"),
            "{e}"
        );
        let e = project("[env:a]\nplatform = native\nextends = env:a\n").unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn filters_and_flags() {
        assert_eq!(
            split_filter("+<*> -<.git/> -<test/>"),
            vec!["+<*>", "-<.git/>", "-<test/>"]
        );
        assert_eq!(
            split_flags("-Os  -DX='a b'\n-Wall"),
            vec!["-Os", "-DX='a b'", "-Wall"]
        );
        assert_eq!(split_flags("-DNAME=\\\"uno\\\""), vec!["-DNAME=\"uno\""]);
        assert_eq!(split_flags("'-DG=\"a b\"' -O2"), vec!["-DG=\"a b\"", "-O2"]);
    }

    #[test]
    fn diamond_extends_is_not_a_cycle() {
        let p = project(
            "[env:base]\nplatform = native\nbuild_flags = -DBASE\n\n\
             [env:b]\nextends = env:base\nbuild_flags = -DB\n\n\
             [env:c]\nextends = env:base\nupload_port = /dev/c\n\n\
             [env:a]\nextends = env:b, env:c\n",
        )
        .unwrap();
        let a = &p.envs["a"];
        assert_eq!(a.platform, "native");
        assert_eq!(a.build_flags, vec!["-DB"], "b comes before c and base");
        assert_eq!(a.upload_port.as_deref(), Some("/dev/c"));
        let e =
            project("[env:x]\nplatform = native\nextends = y\n[env:y]\nextends = x\n").unwrap_err();
        assert!(e.to_string().contains("[env:x] → [env:y] → [env:x]"), "{e}");
    }

    #[test]
    fn a_ten_thousand_deep_chain_loads_in_linear_time() {
        const N: usize = 10_000;
        let mut text = String::from("[env:e0]\nplatform = native\nbuild_flags = -DDEEP\n");
        for i in 1..N {
            text.push_str(&format!("[env:e{i}]\nextends = env:e{}\n", i - 1));
        }
        let t = std::time::Instant::now();
        let p = project(&text).unwrap();
        assert_eq!(p.envs["e9999"].build_flags, vec!["-DDEEP"]);
        // Linear work is milliseconds; the quadratic walk it replaces took
        // minutes at this depth.
        assert!(
            t.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            t.elapsed()
        );
    }
}
