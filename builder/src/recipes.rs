//! The commands of a build, from the core's own recipes (Arduino platform
//! specification): `recipe.{c,cpp,S}.o.pattern` per source,
//! `recipe.ar.pattern` for the core archive, `recipe.c.combine.pattern`
//! for the link, every `recipe.objcopy.*.pattern`, `recipe.size.pattern`
//! with its regexes, and `recipe.hooks.<stage>.<n>.pattern` for the stages
//! prebuild, linking.prelink, linking.postlink, objcopy.preobjcopy and
//! objcopy.postobjcopy. The engine knows no board family: flags, tools,
//! output names and limits are the core's data.
//!
//! What fbuild sets itself, as the Arduino tools do, one function sets:
//! [`Recipes::set_runtime`]; only the core's folders ([`Recipes::core_dirs`]),
//! per-command values (`includes`, `source_file`, `object_file`,
//! `object_files`) and installed tools (`runtime.tools.*`) come from
//! elsewhere. An undefined placeholder stays in a command as written, as
//! arduino-cli leaves it, with a warning. The project's `build_flags` go
//! after the recipe's flags, `build_unflags` are taken out.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use fbuild_platforms::arduino::{ArduinoPlatform, PlatformError, Properties, path_marker, resolve};

use super::files::Lang;
use crate::runtime_props::{self, RuntimeFacts};

/// One environment's properties: platform.txt, the board, overrides and
/// the build's own values.
pub struct Recipes {
    props: Properties,
    /// `build_flags` (added) and `build_unflags` (removed).
    flags: Vec<String>,
    unflags: Vec<String>,
    /// Flags for C++ compiles only (a toolchain quirk the coordinator found).
    cxx_extra: Vec<String>,
    /// Undefined placeholders already warned about (once per build each).
    warned: Mutex<HashSet<String>>,
}

/// A command from a recipe: the program and its arguments.
#[derive(Debug, Clone)]
pub struct Command {
    pub program: PathBuf,
    /// Arguments as the OS takes them (a path in them is byte for byte).
    pub args: Vec<OsString>,
    /// The recipe's key and where the core wrote it, for messages.
    pub recipe: String,
}

impl Command {
    /// The program and its arguments, as one list.
    pub fn line(&self) -> Vec<OsString> {
        let mut line = vec![self.program.clone().into_os_string()];
        line.extend(self.args.iter().cloned());
        line
    }
}

/// An archive a recipe writes: `{archive_file}` and `{archive_file_path}`.
#[derive(Debug, Clone)]
pub struct Archive {
    pub file: String,
    pub path: PathBuf,
}

/// Where the core's folders are.
pub struct CoreDirs {
    pub core: PathBuf,
    pub variant: Option<PathBuf>,
    /// Library folders, the first found wins.
    pub libraries: Vec<PathBuf>,
}

impl Recipes {
    pub fn new(
        props: Properties,
        build_flags: &[String],
        unflags: &[String],
        cxx_extra: Vec<String>,
    ) -> Self {
        Recipes {
            props,
            flags: build_flags.to_vec(),
            unflags: unflags.to_vec(),
            cxx_extra,
            warned: Mutex::default(),
        }
    }

    /// Sets every property the Arduino builders set (see
    /// [`runtime_props::set`]).
    pub fn set_runtime(&mut self, facts: &RuntimeFacts) {
        runtime_props::set(&mut self.props, facts);
    }

    /// The core's folders: `cores/<build.core>`, `variants/<build.variant>`.
    /// A `vendor:name` value names the folder in the `referenced`
    /// platform; its libraries come after this platform's.
    pub fn core_dirs(
        &mut self,
        platform: &ArduinoPlatform,
        referenced: Option<&ArduinoPlatform>,
    ) -> Result<Option<CoreDirs>> {
        let Some(core) = self.props.get("build.core").map(str::to_string) else {
            return Ok(None);
        };
        let core_dir = platform.folder(&core, "cores", "build.core", referenced)?;
        self.props.set_path("build.core.path", &core_dir);
        let variant = match self.props.get("build.variant").map(str::to_string) {
            Some(v) if !v.is_empty() => {
                let dir = platform.folder(&v, "variants", "build.variant", referenced)?;
                self.props.set_path("build.variant.path", &dir);
                Some(dir)
            }
            _ => {
                self.props.set("build.variant.path", ""); // as arduino-cli
                None
            }
        };
        let mut libraries = vec![platform.dir.join("libraries")];
        libraries.extend(referenced.map(|r| r.dir.join("libraries")));
        Ok(Some(CoreDirs {
            core: core_dir,
            variant,
            libraries,
        }))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key)
    }

    pub fn properties(&self) -> &Properties {
        &self.props
    }

    /// The compile of one source.
    pub fn compile(
        &self,
        lang: Lang,
        source: &Path,
        object: &Path,
        includes: &[PathBuf],
    ) -> Result<Command> {
        let key = match lang {
            Lang::C => "recipe.c.o.pattern",
            Lang::Cxx => "recipe.cpp.o.pattern",
            Lang::Asm => "recipe.S.o.pattern",
        };
        let include_args: Vec<String> = includes
            .iter()
            .map(|d| format!("\"-I{}\"", path(d)))
            .collect();
        let mut cmd = self.command(
            key,
            &[
                ("includes", include_args.join(" ")),
                ("source_file", path(source)),
                ("object_file", path(object)),
            ],
        )?;
        // The project's flags go after the recipe's, before the source.
        let at = cmd
            .args
            .iter()
            .position(|a| a == source.as_os_str())
            .unwrap_or(cmd.args.len());
        let mut extra = self.flags.clone();
        if lang == Lang::Cxx {
            extra.extend(self.cxx_extra.iter().cloned());
        }
        cmd.args
            .splice(at..at, extra.into_iter().map(OsString::from));
        self.unflag(&mut cmd);
        Ok(cmd)
    }

    /// `build_unflags` taken out.
    fn unflag(&self, cmd: &mut Command) {
        cmd.args
            .retain(|a| !self.unflags.iter().any(|u| OsStr::new(u) == a));
    }

    /// The commands that archive `objects` into `archive`. Arduino's
    /// recipe adds one object per call; when the recipe has
    /// `{object_file}` as an argument of its own, all objects go in one
    /// call (the same archive, one process instead of dozens).
    pub fn archive(&self, objects: &[PathBuf], archive: &Archive) -> Result<Vec<Command>> {
        const MARK: &str = "\u{1}fbuild-objects\u{1}";
        let values = |object: String| {
            [
                ("object_file", object),
                ("archive_file", archive.file.clone()),
                ("archive_file_path", path(&archive.path)),
            ]
        };
        let batched = self.command("recipe.ar.pattern", &values(MARK.into()))?;
        if let Some(at) = batched.args.iter().position(|a| a == MARK) {
            let mut cmd = batched;
            cmd.args
                .splice(at..=at, objects.iter().map(|o| o.clone().into_os_string()));
            return Ok(vec![cmd]);
        }
        objects
            .iter()
            .map(|o| self.command("recipe.ar.pattern", &values(path(o))))
            .collect()
    }

    /// The core's archive (`{archive_file}` in the link recipe).
    pub fn core_archive(&self) -> Result<Archive> {
        let path = match self.props.get("archive_file_path") {
            Some(_) => self.props.expand_key("archive_file_path")?,
            None => self
                .props
                .expand("{build.path}/{archive_file}", "archive_file_path")?,
        };
        let file = self.props.get("archive_file").unwrap_or("core.a").into();
        let path = PathBuf::from(resolve(&path));
        Ok(Archive { file, path })
    }

    /// The archive of the library whose objects go under `lib/<folder>`:
    /// `lib<folder>.a` in the build folder, where a recipe writing either
    /// `{archive_file_path}` or `{build.path}/{archive_file}` puts it.
    pub fn library_archive(&self, folder: &str) -> Result<Archive> {
        let file = format!("lib{folder}.a");
        let dir = resolve(&self.props.expand("{build.path}", "build.path")?);
        Ok(Archive {
            path: Path::new(&dir).join(&file),
            file,
        })
    }

    /// What brackets the libraries on the link line so that they may
    /// refer to each other in any order (GNU ld's `--start-group`,
    /// `--end-group`): `fbuild.link.group.start`/`.end` (the compat rules
    /// give GNU ld's), empty for a linker that rescans archives by itself
    /// (Apple's); none when the core's link recipe groups its objects itself
    /// (groups do not nest in older GNU ld).
    pub fn link_group(&self) -> Option<(String, String)> {
        if self
            .props
            .get("recipe.c.combine.pattern")
            .is_some_and(|p| p.contains("--start-group"))
        {
            return None;
        }
        let get = |key: &str| self.props.get(key).unwrap_or_default().trim().to_string();
        let (start, end) = (get("fbuild.link.group.start"), get("fbuild.link.group.end"));
        (!start.is_empty() && !end.is_empty()).then_some((start, end))
    }

    /// The link of `objects` (objects, archives and flags, in order) and
    /// the file it writes.
    pub fn link(&self, objects: &[OsString], map: &Path) -> Result<(Command, PathBuf)> {
        let list: Vec<String> = objects
            .iter()
            .map(|o| format!("\"{}\"", path_marker(o)))
            .collect();
        let mut cmd = self.command(
            "recipe.c.combine.pattern",
            &[("object_files", list.join(" "))],
        )?;
        // The map file's arguments: `fbuild.link.map` (the compat rules
        // give GNU ld's), `{fbuild.link.map_file}` standing for `map`.
        if self.props.contains("fbuild.link.map") {
            let map_file = [("fbuild.link.map_file", path(map))];
            cmd.args.extend(self.args("fbuild.link.map", &map_file)?);
        }
        self.unflag(&mut cmd);
        let output = match self.props.get("fbuild.link.output") {
            Some(_) => self.props.expand_key("fbuild.link.output")?,
            None => self
                .props
                .expand("{build.path}/{build.project_name}.elf", "link output")?,
        };
        Ok((cmd, PathBuf::from(resolve(&output))))
    }

    /// Every `recipe.objcopy.<name>.pattern`, in the core's order, each with
    /// the file it writes (its last argument under `build.path`).
    pub fn objcopies(&self) -> Result<Vec<(Command, PathBuf)>> {
        let build_path = self.props.get_path("build.path").unwrap_or_default();
        let keys: Vec<String> = self
            .props
            .keys()
            .filter(|k| k.starts_with("recipe.objcopy.") && k.ends_with(".pattern"))
            .map(str::to_string)
            .collect();
        keys.iter()
            .map(|key| {
                let cmd = self.command(key, &[])?;
                let output = cmd
                    .args
                    .iter()
                    .rev()
                    .find(|a| Path::new(a).starts_with(&build_path))
                    .map(PathBuf::from)
                    .with_context(|| {
                        format!("{key} writes no file under {}", build_path.display())
                    })?;
                Ok((cmd, output))
            })
            .collect()
    }

    /// `recipe.size.pattern`, if the core has one.
    pub fn size(&self) -> Result<Option<Command>> {
        match self.props.get("recipe.size.pattern") {
            Some(_) => self.command("recipe.size.pattern", &[]).map(Some),
            None => Ok(None),
        }
    }

    /// The commands of a hook stage, in their numeric order.
    pub fn hooks(&self, stage: &str) -> Result<Vec<Command>> {
        let prefix = format!("recipe.hooks.{stage}.");
        let mut numbered: Vec<(u32, String)> = self
            .props
            .keys()
            .filter_map(|k| {
                let n = k.strip_prefix(&prefix)?.strip_suffix(".pattern")?;
                Some((n.parse().ok()?, k.to_string()))
            })
            .collect();
        numbered.sort();
        numbered.iter().map(|(_, k)| self.command(k, &[])).collect()
    }

    /// `key` expanded with `extra` values and split into arguments; a
    /// placeholder no property defines stays as written (as arduino-cli
    /// leaves it), with a warning the first time.
    fn args(&self, key: &str, extra: &[(&str, String)]) -> Result<Vec<OsString>> {
        let expanded = self.props.recipe_command(key, extra)?;
        self.warn(&expanded.undefined);
        Ok(expanded.args)
    }

    fn warn(&self, undefined: &[PlatformError]) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        for message in undefined.iter().map(ToString::to_string) {
            if warned.insert(message.clone()) {
                crate::report::say(
                    crate::report::Kind::Warning,
                    format!(
                        "fbuild: warning: {message} (kept as written, as the Arduino tools do)"
                    ),
                );
            }
        }
    }

    /// `key` expanded with `extra` values and split into a command.
    fn command(&self, key: &str, extra: &[(&str, String)]) -> Result<Command> {
        if !self.props.contains(key) {
            bail!("the core's platform.txt has no `{key}`: it cannot build this");
        }
        let mut args = self.args(key, extra)?;
        if args.is_empty() || args[0].is_empty() {
            bail!("`{key}` expands to no command");
        }
        let program = PathBuf::from(args.remove(0));
        let recipe = match self.props.source(key) {
            Some(at) => format!("{key} ({at})"),
            None => key.to_string(),
        };
        Ok(Command {
            program,
            args,
            recipe,
        })
    }
}

/// `p` as a recipe value: a marker, put back byte for byte in the command.
fn path(p: &Path) -> String {
    path_marker(p.as_os_str())
}

#[cfg(test)]
#[path = "recipes_tests.rs"]
mod tests;
