//! Settings from the environment, read in one place (the seam tests use to
//! run real code with a made-up environment). Names: DESIGN.md,
//! "Files and environment".

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::home::{Home, USER_HOME_VAR};
use crate::install_status::InstallPhase;
use crate::time::{
    DEFAULT_DOWNLOAD_STALL, DEFAULT_IDLE, DEFAULT_NOTICE, DEFAULT_ZCCACHE_SILENCE, SETTING_MIN,
    parse_secs,
};
use crate::version::BUILD_VERSION;

mod coordinator;
pub use coordinator::CoordinatorSettings;

/// Internal: the coordinator's end of the readiness pipe (set by the client
/// that spawns it, removed from the coordinator's environment at start).
pub const READY_FD_VAR: &str = "FBUILD_READY_FD";

/// Seconds of silence from zccache's daemon before a compile through its
/// wire probes it ([`zccache_silence`]; checked by [`Settings::from_vars`]).
pub const ZCCACHE_SILENCE_VAR: &str = "FBUILD_ZCCACHE_SILENCE_SECS";

/// `off` sends compiles through zccache's own client even when its daemon
/// speaks fbuild's wire (for comparisons, and as an escape hatch).
pub const ZCCACHE_WIRE_VAR: &str = "FBUILD_ZCCACHE_WIRE";

/// `on` sends links and archives through zccache's cache too (default
/// `off`). zccache 1.15.8 restores, with a link or archive it serves from
/// its cache, files that changed while the first one ran under the working
/// directory, the output's folder or an input's folder (measured: a source
/// file saved in the project during a link came back old at the next hit,
/// and a parallel build's `.ninja_deps` was rewritten), so it is only for
/// folders nothing else writes while links run. Read per link by the shims
/// and `fbuild build` ([`cache_links`]).
pub const CACHE_LINKS_VAR: &str = "FBUILD_CACHE_LINKS";

/// The log filter when `FBUILD_LOG` is unset, empty or unusable: warnings
/// and errors only.
pub const DEFAULT_LOG_FILTER: &str = "warn";

#[derive(Debug, Clone)]
pub struct Settings {
    pub home: Home,
    /// `FBUILD_IDLE_SECS`.
    pub idle: Duration,
    /// This build's version, or `FBUILD_VERSION_OVERRIDE` (tests only).
    pub version: String,
    /// `FBUILD_LOG`, a tracing filter.
    pub log_filter: String,
    /// `FBUILD_ZCCACHE`: which zccache to use.
    pub zccache_mode: ZccacheMode,
    /// `FBUILD_CACHE`: which compile cache (zccache, sccache, none).
    pub cache: CacheKind,
    /// `FBUILD_SCCACHE_URL`; `None`: sccache's release of the pinned
    /// version.
    pub sccache_url: Option<String>,
    /// `FBUILD_ZCCACHE_VERSION`; `None`: the pinned version.
    pub zccache_version: Option<String>,
    /// `FBUILD_ZCCACHE_URL`; `None`: the release URL of the version.
    pub zccache_url: Option<String>,
    /// `FBUILD_NOTICE_SECS`: interval of a blocked shim's notices.
    pub notice_interval: Duration,
    /// `FBUILD_PLATFORM` (`native` when unset).
    pub platform: String,
    /// `FBUILD_PACKAGE_INDEX`: URL of a package index replacing the
    /// built-in one (a mirror of toolchains and framework cores).
    pub package_index: Option<String>,
    /// `FBUILD_REGISTRY_URL`: PlatformIO's registry API replaced (a
    /// mirror, a test's server); `None`: the builder's default.
    pub registry_url: Option<String>,
    /// `FBUILD_LIBRARY_INDEX`: the Arduino library index replaced; `None`:
    /// the builder's default.
    pub library_index: Option<String>,
    /// `FBUILD_UNPACK_MAX_MB`: the most any package may unpack to (`None`:
    /// each kind's default).
    pub unpack_max_mb: Option<u64>,
    /// `FBUILD_UNPACK_MAX_FILES`: the most files any package may hold.
    pub unpack_max_files: Option<u64>,
    /// `FBUILD_DOWNLOAD_STALL_SECS`: silence within a download that fails
    /// the attempt.
    pub download_stall: Duration,
    /// `FBUILD_TEST_INSTALL_PAUSE=<phase>:<millis>`: tests only. Every
    /// install pauses this long on entering that phase, so a test can kill
    /// the installer at a named checkpoint.
    pub install_pause: Option<(InstallPhase, Duration)>,
    /// The per-coordinator variables this process's environment sets (the
    /// others are `None`: no opinion).
    pub coordinator: CoordinatorSettings,
    /// Values that could not be used, each replaced by its default: one
    /// line per variable, naming it, its value and the default. A shim
    /// warns once per build (it must compile whatever the environment
    /// says), the driver once per command.
    pub warnings: Vec<String>,
}

/// Settings a user may change for one build. They travel in every request
/// (`ClientFrame::build` in the protocol) and win over whatever the
/// running coordinator was started with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSettings {
    /// `FBUILD_ZCCACHE`.
    #[serde(default)]
    pub zccache: ZccacheMode,
    /// `FBUILD_CACHE`.
    #[serde(default)]
    pub cache: CacheKind,
}

/// `FBUILD_CACHE` (DESIGN.md): the compile cache in front of compiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheKind {
    /// zccache (local), as `FBUILD_ZCCACHE` says.
    #[default]
    Zccache,
    /// sccache with the user's `SCCACHE_*` storage backend (Redis, S3, …):
    /// a cache shared between machines.
    Sccache,
    /// No cache.
    None,
}

/// `FBUILD_ZCCACHE` (DESIGN.md): where the zccache in front of compiles
/// comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZccacheMode {
    /// Managed, else one on PATH, else none.
    #[default]
    Auto,
    /// Only the managed install.
    Managed,
    /// Only a zccache found on PATH.
    Ambient,
    /// No cache.
    Off,
}

impl ZccacheMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ZccacheMode::Auto => "auto",
            ZccacheMode::Managed => "managed",
            ZccacheMode::Ambient => "ambient",
            ZccacheMode::Off => "off",
        }
    }
}

/// A setting whose value cannot be used; says which and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|k| std::env::var_os(k))
    }

    /// Builds settings from any variable lookup.
    pub fn from_vars(get: impl Fn(&str) -> Option<OsString>) -> Result<Self, SettingsError> {
        let nonempty = |k: &str| get(k).filter(|v| !v.is_empty());
        let root = match nonempty("FBUILD_HOME") {
            // Relative, each compile of a build (run in its own folder)
            // would have a home, a coordinator and a zccache of its own.
            Some(h) if !std::path::Path::new(&h).is_absolute() => {
                return Err(SettingsError(format!(
                    "FBUILD_HOME={} is a relative path: set it to an absolute one (the \
                     shims run in every folder of a build)",
                    h.to_string_lossy()
                )));
            }
            Some(h) => PathBuf::from(h),
            None => match nonempty(USER_HOME_VAR) {
                Some(h) => PathBuf::from(h).join(".fbuild"),
                None => {
                    return Err(SettingsError(format!(
                        "neither FBUILD_HOME nor {USER_HOME_VAR} is set: set FBUILD_HOME to a \
                         directory fbuild may use"
                    )));
                }
            },
        };
        let runtime_dir = nonempty("XDG_RUNTIME_DIR").map(PathBuf::from);
        let mut warnings = Vec::new();
        // A duration that cannot be used is replaced by its default with a
        // warning, never an error: the shims read these too.
        // `min`: the least value that makes sense (a notice every
        // nanosecond does not).
        let mut secs = |var: &str, default: Duration, min: Duration| -> Option<Duration> {
            let v = nonempty(var)?;
            let text = v.to_string_lossy();
            match parse_secs(&text) {
                Ok(d) if d >= min => Some(d),
                Ok(_) => {
                    warnings.push(format!(
                        "{var}={text:?} must be at least {} seconds and more than 0; using the \
                         default {}",
                        min.as_secs_f64(),
                        default.as_secs_f64()
                    ));
                    None
                }
                Err(why) => {
                    warnings.push(format!(
                        "{var}: {why}; using the default {}",
                        default.as_secs_f64()
                    ));
                    None
                }
            }
        };
        let idle_set = secs("FBUILD_IDLE_SECS", DEFAULT_IDLE, Duration::ZERO);
        let notice_interval = secs("FBUILD_NOTICE_SECS", DEFAULT_NOTICE, SETTING_MIN);
        secs(ZCCACHE_SILENCE_VAR, DEFAULT_ZCCACHE_SILENCE, SETTING_MIN);
        let stall_set = secs(
            "FBUILD_DOWNLOAD_STALL_SECS",
            DEFAULT_DOWNLOAD_STALL,
            SETTING_MIN,
        );
        if let Some(v) = nonempty(CACHE_LINKS_VAR).filter(|v| v != "on" && v != "off") {
            warnings.push(format!(
                "{CACHE_LINKS_VAR}={:?} is neither on nor off; links run without the cache",
                v.to_string_lossy()
            ));
        }
        let mut count = |var: &str| -> Option<u64> {
            let v = nonempty(var)?;
            let text = v.to_string_lossy();
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    warnings.push(format!(
                        "{var}={text:?} is not a positive whole number; using the default"
                    ));
                    None
                }
            }
        };
        let unpack_max_mb = count("FBUILD_UNPACK_MAX_MB");
        let unpack_max_files = count("FBUILD_UNPACK_MAX_FILES");
        let idle = idle_set.unwrap_or(DEFAULT_IDLE);
        let notice_interval = notice_interval.unwrap_or(DEFAULT_NOTICE);
        let version = nonempty("FBUILD_VERSION_OVERRIDE")
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| BUILD_VERSION.to_string());
        let log_filter = log_filter_in(&get);
        let text = |k: &str| nonempty(k).map(|v| v.to_string_lossy().into_owned());
        let zccache_mode = match text("FBUILD_ZCCACHE").as_deref() {
            None | Some("auto") => ZccacheMode::Auto,
            Some("managed") => ZccacheMode::Managed,
            Some("ambient") => ZccacheMode::Ambient,
            Some("off") => ZccacheMode::Off,
            Some(other) => {
                return Err(SettingsError(format!(
                    "FBUILD_ZCCACHE={other:?} is not one of auto, managed, ambient, off"
                )));
            }
        };
        let cache = match text("FBUILD_CACHE").as_deref() {
            None | Some("zccache") => CacheKind::Zccache,
            Some("sccache") => CacheKind::Sccache,
            Some("none") | Some("off") => CacheKind::None,
            Some(other) => {
                return Err(SettingsError(format!(
                    "FBUILD_CACHE={other:?} is not one of zccache, sccache, none"
                )));
            }
        };
        let install_pause = text("FBUILD_TEST_INSTALL_PAUSE").and_then(|v| parse_pause(&v));
        let coordinator = CoordinatorSettings {
            zccache_version: text("FBUILD_ZCCACHE_VERSION"),
            zccache_url: text("FBUILD_ZCCACHE_URL"),
            package_index: text("FBUILD_PACKAGE_INDEX"),
            sccache_url: text("FBUILD_SCCACHE_URL"),
            idle_ms: idle_set.map(|d| d.as_millis() as u64),
            log: text("FBUILD_LOG"),
            unpack_max_mb,
            unpack_max_files,
            download_stall_ms: stall_set.map(|d| d.as_millis() as u64),
        };
        Ok(Settings {
            coordinator,
            home: Home::new(root, runtime_dir),
            idle,
            version,
            log_filter,
            zccache_mode,
            cache,
            sccache_url: text("FBUILD_SCCACHE_URL"),
            zccache_version: text("FBUILD_ZCCACHE_VERSION"),
            zccache_url: text("FBUILD_ZCCACHE_URL"),
            install_pause,
            notice_interval,
            platform: text("FBUILD_PLATFORM")
                .unwrap_or_else(|| crate::platform::Platform::NATIVE.into()),
            package_index: text("FBUILD_PACKAGE_INDEX"),
            registry_url: text("FBUILD_REGISTRY_URL"),
            library_index: text("FBUILD_LIBRARY_INDEX"),
            unpack_max_mb,
            unpack_max_files,
            download_stall: stall_set.unwrap_or(DEFAULT_DOWNLOAD_STALL),
            warnings,
        })
    }
}

impl Settings {
    /// The per-build settings to send with a request.
    pub fn build(&self) -> BuildSettings {
        BuildSettings {
            zccache: self.zccache_mode,
            cache: self.cache,
        }
    }
}

/// `FBUILD_LOG`, or [`DEFAULT_LOG_FILTER`]. Also on its own: logging starts
/// before, and without, a usable home.
pub fn log_filter() -> String {
    log_filter_in(&|k: &str| std::env::var_os(k))
}

fn log_filter_in(get: &impl Fn(&str) -> Option<OsString>) -> String {
    get("FBUILD_LOG")
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string())
}

/// Whether compiles may go through zccache's daemon wire
/// ([`ZCCACHE_WIRE_VAR`] is not `off`). Read on its own, per compile, by
/// the shims and `fbuild build`.
pub fn zccache_wire() -> bool {
    std::env::var_os(ZCCACHE_WIRE_VAR).is_none_or(|v| v != "off")
}

/// Whether links and archives may go through zccache ([`CACHE_LINKS_VAR`]
/// is `on`).
pub fn cache_links() -> bool {
    std::env::var_os(CACHE_LINKS_VAR).is_some_and(|v| v == "on")
}

/// [`ZCCACHE_SILENCE_VAR`] when usable and not 0 (an unusable value means
/// the default, which [`Settings::from_vars`] warns about). Read on its own,
/// per compile, like [`zccache_wire`].
pub fn zccache_silence() -> Option<Duration> {
    std::env::var(ZCCACHE_SILENCE_VAR)
        .ok()
        .and_then(|v| parse_secs(&v).ok())
        .filter(|d| !d.is_zero())
}

fn parse_pause(v: &str) -> Option<(InstallPhase, Duration)> {
    let (phase, millis) = v.split_once(':')?;
    let phase = serde_json::from_value(serde_json::Value::String(phase.into())).ok()?;
    Some((phase, Duration::from_millis(millis.parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn a_relative_home_is_refused_naming_it() {
        let err = with(&[("FBUILD_HOME", "relhome")]).unwrap_err().to_string();
        assert!(
            err.contains("FBUILD_HOME=relhome") && err.contains("absolute"),
            "{err}"
        );
    }

    #[test]
    fn defaults_under_home() {
        let s = with(&[(USER_HOME_VAR, "/home/u")]).unwrap();
        assert_eq!(s.home.root(), std::path::Path::new("/home/u/.fbuild"));
        assert_eq!(s.idle, DEFAULT_IDLE);
        assert_eq!(s.version, BUILD_VERSION);
        assert_eq!(s.log_filter, "warn");
        assert_eq!((s.registry_url, s.library_index), (None, None));
        let s = with(&[
            (USER_HOME_VAR, "/h"),
            ("FBUILD_REGISTRY_URL", "http://r"),
            ("FBUILD_LIBRARY_INDEX", "http://i"),
        ])
        .unwrap();
        assert_eq!(s.registry_url.as_deref(), Some("http://r"));
        assert_eq!(s.library_index.as_deref(), Some("http://i"));
    }

    #[test]
    fn zccache_mode_and_pause() {
        let s = with(&[("FBUILD_HOME", "/x"), ("FBUILD_ZCCACHE", "off")]).unwrap();
        assert_eq!(s.zccache_mode, ZccacheMode::Off);
        let err = with(&[("FBUILD_HOME", "/x"), ("FBUILD_ZCCACHE", "maybe")]).unwrap_err();
        assert!(err.0.contains("\"maybe\""), "{err}");
        let s = with(&[
            ("FBUILD_HOME", "/x"),
            ("FBUILD_TEST_INSTALL_PAUSE", "extracting:500"),
        ])
        .unwrap();
        assert_eq!(
            s.install_pause,
            Some((InstallPhase::Extracting, Duration::from_millis(500)))
        );
    }

    #[test]
    fn coordinator_settings_differ_only_where_set() {
        let client = with(&[("FBUILD_HOME", "/x"), ("FBUILD_ZCCACHE_URL", "file:///m")])
            .unwrap()
            .coordinator;
        let running = with(&[("FBUILD_HOME", "/x"), ("FBUILD_IDLE_SECS", "5")])
            .unwrap()
            .coordinator;
        let diff = client.differences(&running);
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert!(
            diff[0].starts_with("FBUILD_ZCCACHE_URL=file:///m"),
            "{diff:?}"
        );
        let same_idle = with(&[("FBUILD_HOME", "/x"), ("FBUILD_IDLE_SECS", "600")])
            .unwrap()
            .coordinator;
        assert!(same_idle.differences(&running.clone()).len() == 1);
        assert!(
            same_idle
                .differences(&CoordinatorSettings::default())
                .is_empty()
        );
    }

    #[test]
    fn unusable_durations_warn_and_take_the_default() {
        for var in [
            "FBUILD_IDLE_SECS",
            "FBUILD_NOTICE_SECS",
            "FBUILD_ZCCACHE_SILENCE_SECS",
        ] {
            for bad in ["1e20", "inf", "nan", "-1", "abc", "soon"] {
                let s = with(&[("FBUILD_HOME", "/x"), (var, bad)]).unwrap();
                assert_eq!(s.idle, DEFAULT_IDLE);
                assert_eq!(s.notice_interval, DEFAULT_NOTICE);
                assert_eq!(s.coordinator.idle_ms, None);
                assert_eq!(s.warnings.len(), 1, "{var}={bad}: {:?}", s.warnings);
                let w = &s.warnings[0];
                assert!(w.contains(var) && w.contains(&format!("{bad:?}")), "{w}");
                assert!(w.contains("using the default"), "{w}");
            }
        }
        let zero = with(&[("FBUILD_HOME", "/x"), ("FBUILD_NOTICE_SECS", "0")]).unwrap();
        assert_eq!(zero.notice_interval, DEFAULT_NOTICE);
        assert!(
            zero.warnings[0].contains("more than 0"),
            "{:?}",
            zero.warnings
        );
        let fine = with(&[("FBUILD_HOME", "/x"), ("FBUILD_IDLE_SECS", "0.5")]).unwrap();
        assert_eq!(fine.idle, Duration::from_millis(500));
        assert_eq!(fine.coordinator.idle_ms, Some(500));
        assert!(fine.warnings.is_empty());
    }
}
