//! `platformio.ini` as a project: `[platformio]` options, the common `[env]`,
//! `[env:NAME]` sections with `extends`, `${section.key}` interpolation,
//! and the keys fbuild understands (others are warned about).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::extends::Extended;
use super::ini::{ConfigError, Ini, Section, parse};
pub use super::options::{LdfMode, TestConfig};
pub use super::values::split_flags;
use super::values::{split_filter, split_list, split_multi};

/// Keys of an `[env:…]` section that fbuild uses.
const ENV_KEYS: &[&str] = &[
    "platform",
    "board",
    "framework",
    "build_flags",
    "build_unflags",
    "build_src_filter",
    "lib_deps",
    "lib_ignore",
    "lib_extra_dirs",
    "lib_ldf_mode",
    "lib_compat_mode",
    "lib_archive",
    "test_framework",
    "test_filter",
    "test_ignore",
    "test_build_src",
    "test_speed",
    "test_port",
    "upload_port",
    "upload_speed",
    "monitor_speed",
    "platform_index_urls",
    "extends",
];

const PLATFORMIO_KEYS: &[&str] = &["default_envs", "src_dir", "lib_dir", "build_dir"];

/// One build environment, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    pub name: String,
    pub platform: String,
    pub board: Option<String>,
    pub framework: Option<String>,
    pub build_flags: Vec<String>,
    pub build_unflags: Vec<String>,
    pub build_src_filter: Vec<String>,
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
    pub monitor_speed: Option<u32>,
    /// `board_build.X` and `board_upload.X` as the core's `build.X` and
    /// `upload.X` properties (PlatformIO's way to change f_cpu, mcu, …).
    pub board_overrides: Vec<(String, String)>,
    /// `platform_index_urls`: Arduino package indexes searched, in order,
    /// for `platform = vendor:arch[@version]`.
    pub platform_index_urls: Vec<String>,
    /// `test_*` options, for `fbuild test`.
    pub test: TestConfig,
}

/// Option prefixes that override the board's properties.
const BOARD_PREFIXES: [(&str, &str); 2] =
    [("board_build.", "build."), ("board_upload.", "upload.")];

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub file: PathBuf,
    pub src_dir: PathBuf,
    pub lib_dir: PathBuf,
    pub build_dir: PathBuf,
    pub default_envs: Vec<String>,
    pub envs: BTreeMap<String, EnvConfig>,
    /// More sources built with `src_dir`, and their filter: set by `fbuild
    /// test` (a suite is `src_dir`, the project's `src/` comes along with
    /// `test_build_src`); never from the ini.
    pub also_src: Option<(PathBuf, Vec<String>)>,
    /// Unknown keys and similar, for the user to see.
    pub warnings: Vec<String>,
}

impl Project {
    /// Reads `<root>/platformio.ini`.
    pub fn load(root: &Path) -> Result<Project, ConfigError> {
        let file = root.join("platformio.ini");
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            message: format!(
                "cannot read it: {e} (is {} a PlatformIO project?)",
                root.display()
            ),
        })?;
        let ini = parse(&text, &file)?;
        Resolver {
            ini: &ini,
            extended: Extended::resolve(&ini)?,
        }
        .project(root)
    }

    /// The environments to build: `selected`, else `default_envs`, else all.
    pub fn select(&self, selected: &[String]) -> Result<Vec<&EnvConfig>, ConfigError> {
        let names: Vec<String> = if !selected.is_empty() {
            selected.to_vec()
        } else if !self.default_envs.is_empty() {
            self.default_envs.clone()
        } else {
            self.envs.keys().cloned().collect()
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

struct Resolver<'a> {
    ini: &'a Ini,
    extended: Extended<'a>,
}

impl Resolver<'_> {
    fn project(&self, root: &Path) -> Result<Project, ConfigError> {
        let mut warnings = Vec::new();
        let pio = self.ini.section("platformio");
        if let Some(pio) = pio {
            self.warn_unknown(pio, PLATFORMIO_KEYS, &mut warnings);
        }
        let dir = |key: &str, default: &str| -> Result<PathBuf, ConfigError> {
            let value = match pio.and_then(|s| s.get(key)) {
                Some(e) => self.interpolate(&e.value, e.line, &mut Vec::new())?,
                None => default.to_string(),
            };
            Ok(root.join(value))
        };
        let src_dir = dir("src_dir", "src")?;
        let lib_dir = dir("lib_dir", "lib")?;
        let build_dir = dir("build_dir", ".fbuild/build")?;
        let default_envs = match pio.and_then(|s| s.get("default_envs")) {
            Some(e) => split_list(&self.interpolate(&e.value, e.line, &mut Vec::new())?),
            None => Vec::new(),
        };
        if let Some(common) = self.ini.section("env") {
            self.warn_unknown(common, ENV_KEYS, &mut warnings);
        }
        let mut envs = BTreeMap::new();
        for section in &self.ini.sections {
            let Some(name) = section.name.strip_prefix("env:") else {
                continue;
            };
            self.warn_unknown(section, ENV_KEYS, &mut warnings);
            envs.insert(name.to_string(), self.env(name, section)?);
        }
        Ok(Project {
            root: root.to_path_buf(),
            file: self.ini.file.clone(),
            src_dir,
            lib_dir,
            build_dir,
            default_envs,
            envs,
            also_src: None,
            warnings,
        })
    }

    fn env(&self, name: &str, section: &Section) -> Result<EnvConfig, ConfigError> {
        // The section through its `extends`, then the common `[env]`.
        let entry = |key: &str| {
            self.extended
                .get(&section.name, key)
                .or_else(|| self.extended.get("env", key))
        };
        let get = |key: &str| -> Result<Option<String>, ConfigError> {
            match entry(key) {
                Some(e) => self
                    .interpolate(&e.value, e.line, &mut Vec::new())
                    .map(Some),
                None => Ok(None),
            }
        };
        let number = |key: &str| -> Result<Option<u32>, ConfigError> {
            match get(key)? {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    let line = entry(key).map(|e| e.line);
                    self.err(
                        line,
                        format!("{key} = {v:?} in [env:{name}] is not a number"),
                    )
                }),
            }
        };
        // One of `allowed`, else an error naming them.
        let choice = |key: &str, allowed: &[&str], default: &str| -> Result<String, ConfigError> {
            let Some(v) = get(key)? else {
                return Ok(default.to_string());
            };
            let v = v.trim();
            if allowed.contains(&v) {
                return Ok(v.to_string());
            }
            let line = entry(key).map(|e| e.line);
            Err(self.err(
                line,
                format!("{key} = {v:?} in [env:{name}]: use {}", allowed.join(", ")),
            ))
        };
        // A yes/no option (PlatformIO also takes true/false).
        let yes = |key: &str, default: &str| -> Result<bool, ConfigError> {
            let v = choice(key, &["yes", "no", "true", "false"], default)?;
            Ok(v == "yes" || v == "true")
        };
        let platform = get("platform")?.ok_or_else(|| {
            self.err(
                Some(section.line),
                format!("[env:{name}] has no `platform` (e.g. atmelavr, native)"),
            )
        })?;
        Ok(EnvConfig {
            name: name.to_string(),
            platform: platform.trim().to_string(),
            board: get("board")?.map(|b| b.trim().to_string()),
            framework: get("framework")?.map(|f| f.trim().to_string()),
            build_flags: split_flags(&get("build_flags")?.unwrap_or_default()),
            build_unflags: split_flags(&get("build_unflags")?.unwrap_or_default()),
            build_src_filter: split_filter(&get("build_src_filter")?.unwrap_or_default()),
            lib_deps: split_multi(&get("lib_deps")?.unwrap_or_default()),
            lib_ignore: split_multi(&get("lib_ignore")?.unwrap_or_default()),
            lib_extra_dirs: split_multi(&get("lib_extra_dirs")?.unwrap_or_default())
                .iter()
                .map(|d| self.ini.file.parent().unwrap_or(Path::new(".")).join(d))
                .collect(),
            lib_ldf_mode: LdfMode::from_value(&choice(
                "lib_ldf_mode",
                &["off", "chain", "chain+", "deep", "deep+"],
                "chain",
            )?),
            lib_compat_check: choice("lib_compat_mode", &["off", "soft", "strict"], "soft")?
                != "off",
            lib_archive: yes("lib_archive", "yes")?,
            test: TestConfig {
                custom: choice("test_framework", &["unity", "custom"], "unity")? == "custom",
                filter: split_multi(&get("test_filter")?.unwrap_or_default()),
                ignore: split_multi(&get("test_ignore")?.unwrap_or_default()),
                build_src: yes("test_build_src", "no")?,
                speed: number("test_speed")?,
                port: get("test_port")?.map(|p| p.trim().to_string()),
            },
            upload_port: get("upload_port")?.map(|p| p.trim().to_string()),
            upload_speed: number("upload_speed")?,
            monitor_speed: number("monitor_speed")?,
            board_overrides: self.board_overrides(section)?,
            platform_index_urls: split_list(&get("platform_index_urls")?.unwrap_or_default()),
        })
    }

    /// Expands `${section.key}` (and `${sysenv.VAR}`), detecting cycles.
    fn interpolate(
        &self,
        value: &str,
        line: usize,
        stack: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                return Err(self.err(Some(line), format!("unclosed `${{` in {value:?}")));
            };
            let reference = &rest[start + 2..start + end];
            out.push_str(&self.lookup(reference, line, stack)?);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(
        &self,
        reference: &str,
        line: usize,
        stack: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let Some((section, key)) = reference.rsplit_once('.') else {
            return Err(self.err(
                Some(line),
                format!("`${{{reference}}}` is not `${{section.key}}`"),
            ));
        };
        if section == "sysenv" {
            return Ok(std::env::var(key).unwrap_or_default());
        }
        if stack.iter().any(|r| r == reference) {
            return Err(self.err(Some(line), format!("`${{{reference}}}` refers to itself")));
        }
        let entry = self.extended.get(section, key).ok_or_else(|| {
            self.err(
                Some(line),
                format!("`${{{reference}}}`: no `{key}` in [{section}]"),
            )
        })?;
        stack.push(reference.to_string());
        let value = self.interpolate(&entry.value, entry.line, stack);
        stack.pop();
        value
    }

    /// `board_build.*`/`board_upload.*` of the section (through its
    /// `extends`) and of `[env]`, as board properties.
    fn board_overrides(&self, section: &Section) -> Result<Vec<(String, String)>, ConfigError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for name in ["env", section.name.as_str()] {
            for (key, e) in self.extended.entries(name) {
                let Some(prop) = BOARD_PREFIXES
                    .iter()
                    .find_map(|(p, to)| key.strip_prefix(p).map(|rest| format!("{to}{rest}")))
                else {
                    continue;
                };
                let value = self.interpolate(&e.value, e.line, &mut Vec::new())?;
                out.retain(|(k, _)| *k != prop);
                out.push((prop, value.trim().to_string()));
            }
        }
        Ok(out)
    }

    fn warn_unknown(&self, section: &Section, known: &[&str], warnings: &mut Vec<String>) {
        for e in &section.entries {
            let board_key = BOARD_PREFIXES.iter().any(|(p, _)| e.key.starts_with(p));
            let understood = known.contains(&e.key.as_str()) || (board_key && known == ENV_KEYS);
            if !understood {
                warnings.push(format!(
                    "{}:{}: unknown option `{}` in [{}] is ignored",
                    self.ini.file.display(),
                    e.line,
                    e.key,
                    section.name
                ));
            }
        }
    }

    fn err(&self, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.ini.file.clone(),
            line,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
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
