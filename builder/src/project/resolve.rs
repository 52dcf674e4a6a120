//! Reading a parsed `platformio.ini` into the project model (`config`):
//! sections resolved with `extends`, values with `${section.key}` and
//! `${sysenv.VAR}`, then PlatformIO's `PLATFORMIO_*` variables (`sysenv`)
//! on top; each key checked, unknown keys and unused variables warned
//! about.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::{EnvConfig, LdfMode, MonitorConfig, Project, TestConfig};
use super::extends::Extended;
use super::ini::{ConfigError, Ini, Section, parse};
use super::sysenv;
use super::values::{split_filter, split_flags, split_list, split_multi};

/// Keys of an `[env:…]` section that fbuild uses.
/// `build_type = debug` (PlatformIO's default `debug_build_flags`, at
/// the third level).
const DEBUG_FLAGS: &[&str] = &["-Og", "-g3", "-ggdb3"];

const ENV_KEYS: &[&str] = &[
    "platform",
    "board",
    "framework",
    "build_flags",
    "build_src_flags",
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
    "upload_protocol",
    "upload_flags",
    "monitor_speed",
    "monitor_port",
    "monitor_filters",
    "monitor_echo",
    "monitor_eol",
    "platform_index_urls",
    "extends",
    "extra_scripts",
    "build_type",
    "build_warnings",
];

const PLATFORMIO_KEYS: &[&str] = &[
    "default_envs",
    "src_dir",
    "include_dir",
    "lib_dir",
    "build_dir",
];

/// Option prefixes that override the board's properties.
const BOARD_PREFIXES: [(&str, &str); 2] =
    [("board_build.", "build."), ("board_upload.", "upload.")];

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
        // A `[platformio]` option, with its variable on top.
        let get = |key: &str| -> Result<Option<String>, ConfigError> {
            let ini = match pio.and_then(|s| s.get(key)) {
                Some(e) => Some(self.interpolate(&e.value, e.line, &mut Vec::new())?),
                None => None,
            };
            Ok(sysenv::apply(key, ini))
        };
        let dir = |key: &str, default: &str| -> Result<PathBuf, ConfigError> {
            match get(key)? {
                Some(v) => Ok(root.join(super::values::home_expanded(v.trim()))),
                // Part by part: one kind of separator on Windows too.
                None => Ok(root.join(default.split('/').collect::<PathBuf>())),
            }
        };
        let src_dir = dir("src_dir", "src")?;
        let lib_dir = dir("lib_dir", "lib")?;
        let include_dir = dir("include_dir", "include")?;
        let build_dir = dir("build_dir", ".fbuild/build")?;
        let default_envs = split_list(&get("default_envs")?.unwrap_or_default());
        let unused = sysenv::unused();
        if !unused.is_empty() {
            warnings.push(format!(
                "{} set here but not used by fbuild (it reads PLATFORMIO_BUILD_FLAGS, \
                 PLATFORMIO_BUILD_SRC_FLAGS, PLATFORMIO_BUILD_SRC_FILTER, PLATFORMIO_UPLOAD_PORT, \
                 PLATFORMIO_UPLOAD_FLAGS, PLATFORMIO_EXTRA_SCRIPTS, PLATFORMIO_DEFAULT_ENVS and \
                 the *_DIR of the project's folders; its own settings are FBUILD_*)",
                unused.join(", ")
            ));
        }
        if let Some(common) = self.ini.section("env") {
            self.warn_unknown(common, ENV_KEYS, &mut warnings);
        }
        let mut envs = BTreeMap::new();
        let mut env_order = Vec::new();
        for section in &self.ini.sections {
            let Some(name) = section.name.strip_prefix("env:") else {
                continue;
            };
            self.warn_unknown(section, ENV_KEYS, &mut warnings);
            envs.insert(name.to_string(), self.env(name, section)?);
            env_order.push(name.to_string());
        }
        Ok(Project {
            root: root.to_path_buf(),
            file: self.ini.file.clone(),
            src_dir,
            include_dir,
            lib_dir,
            build_dir,
            default_envs,
            envs,
            env_order,
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
            let ini = match entry(key) {
                Some(e) => Some(self.interpolate(&e.value, e.line, &mut Vec::new())?),
                None => None,
            };
            Ok(sysenv::apply(key, ini))
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
        // A yes/no option, in any of the spellings PlatformIO takes.
        let yes = |key: &str, default: bool| -> Result<bool, ConfigError> {
            let Some(v) = get(key)? else {
                return Ok(default);
            };
            super::values::boolean(&v).ok_or_else(|| {
                let line = entry(key).map(|e| e.line);
                self.err(
                    line,
                    format!(
                        "{key} = {v:?} in [env:{name}]: use yes or no (true/false, 1/0, on/off)"
                    ),
                )
            })
        };
        let platform = get("platform")?.ok_or_else(|| {
            self.err(
                Some(section.line),
                format!("[env:{name}] has no `platform` (e.g. atmelavr, native)"),
            )
        })?;
        // Empty: none (how an inherited script is cancelled).
        let scripts = get("extra_scripts")?.filter(|v| !v.trim().is_empty());
        let from_file = entry("extra_scripts").is_some();
        let extra_scripts =
            scripts.map(|v| {
                self.err(
                entry("extra_scripts").map(|e| e.line),
                format!(
                    "extra_scripts = {}{} in [env:{name}]: fbuild cannot run PlatformIO's SCons \
                     scripts, and a build without them is not the one they ask for, so this \
                     environment is not built; do their work with build_flags or lib_deps, or \
                     {} to build without them",
                    v.trim(),
                    if from_file { "" } else { " (from PLATFORMIO_EXTRA_SCRIPTS)" },
                    if from_file {
                        "remove the line"
                    } else {
                        "unset PLATFORMIO_EXTRA_SCRIPTS"
                    }
                ),
            )
            });
        Ok(EnvConfig {
            name: name.to_string(),
            extra_scripts,
            platform: fbuild_core::platform::Platform::parse(platform.trim()),
            board: get("board")?.map(|b| b.trim().to_string()),
            framework: get("framework")?.map(|f| f.trim().to_string()),
            build_flags: {
                let mut flags = split_flags(&get("build_flags")?.unwrap_or_default());
                // PlatformIO's `build_type = debug`: its debug flags after
                // the recipe's (the last -O wins).
                if choice("build_type", &["release", "debug", "test"], "release")? == "debug" {
                    flags.extend(DEBUG_FLAGS.iter().map(|f| f.to_string()));
                }
                flags
            },
            build_src_flags: split_flags(&get("build_src_flags")?.unwrap_or_default()),
            build_unflags: split_flags(&get("build_unflags")?.unwrap_or_default()),
            build_src_filter: split_filter(&get("build_src_filter")?.unwrap_or_default()),
            // PlatformIO's: -Wall for a board's core, nothing added on the host.
            warnings: choice(
                "build_warnings",
                &["none", "default", "more", "all"],
                match fbuild_core::platform::Platform::parse(platform.trim()).is_native() {
                    true => "default",
                    false => "more",
                },
            )?,
            lib_deps: split_multi(&get("lib_deps")?.unwrap_or_default()),
            lib_ignore: split_multi(&get("lib_ignore")?.unwrap_or_default()),
            lib_extra_dirs: split_multi(&get("lib_extra_dirs")?.unwrap_or_default())
                .iter()
                .map(|d| {
                    let dir = self.ini.file.parent().unwrap_or(Path::new("."));
                    dir.join(super::values::home_expanded(d))
                })
                .collect(),
            lib_ldf_mode: LdfMode::from_value(&choice(
                "lib_ldf_mode",
                &["off", "chain", "chain+", "deep", "deep+"],
                "chain",
            )?),
            lib_compat_check: choice("lib_compat_mode", &["off", "soft", "strict"], "soft")?
                != "off",
            lib_archive: yes("lib_archive", true)?,
            test: TestConfig {
                custom: choice("test_framework", &["unity", "custom"], "unity")? == "custom",
                filter: split_multi(&get("test_filter")?.unwrap_or_default()),
                ignore: split_multi(&get("test_ignore")?.unwrap_or_default()),
                build_src: yes("test_build_src", false)?,
                speed: number("test_speed")?,
                port: get("test_port")?.map(|p| p.trim().to_string()),
            },
            upload_port: get("upload_port")?.map(|p| p.trim().to_string()),
            upload_speed: number("upload_speed")?,
            upload_protocol: get("upload_protocol")?
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            upload_flags: split_flags(&get("upload_flags")?.unwrap_or_default()),
            monitor_speed: number("monitor_speed")?,
            monitor: MonitorConfig {
                port: get("monitor_port")?.map(|p| p.trim().to_string()),
                filters: split_multi(&get("monitor_filters")?.unwrap_or_default()),
                echo: yes("monitor_echo", false)?,
                eol: match get("monitor_eol")? {
                    Some(_) => Some(choice("monitor_eol", &["CRLF", "CR", "LF"], "CRLF")?),
                    None => None,
                },
            },
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
