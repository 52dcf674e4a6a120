//! Arduino cores read as the Arduino platform specification describes
//! them: a platform folder `<vendor>/<arch>/` with `platform.txt`,
//! `boards.txt` and `programmers.txt`, boards picked by FQBN with their
//! menu options. Everything a core knows (compile recipes, flags, upload
//! patterns, size regexes, USB ids) comes from these files; nothing here
//! knows a board family.

mod board;
mod fqbn;
pub mod index;
mod props;

use std::path::{Path, PathBuf};

pub use board::{BoardId, ResolvedBoard, close, pio_board_ids, pio_platform_of_arch};
pub use fqbn::Fqbn;
pub use props::{
    MARK_OPEN, OS_SUFFIX, Properties, RecipeCommand, Source, path_marker, resolve, split_command,
};

/// What can be wrong with a core's files or a board name. Each says which
/// file and line, or which value, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("reading {}: {cause}", path.display())]
    Read { path: PathBuf, cause: String },
    #[error("{at}: {message}")]
    Syntax { at: Source, message: String },
    #[error("{}`{key}` uses {{{placeholder}}}, which no property defines{}", at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default(), hint(placeholder))]
    Undefined {
        placeholder: String,
        key: String,
        at: Option<Source>,
    },
    #[error("{}`{key}` refers to itself through its placeholders (a cycle)", at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default())]
    Cycle { key: String, at: Option<Source> },
    #[error("the core defines no `{key}`")]
    Missing { key: String },
    /// A project's option the core's data cannot satisfy.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("{key}={value} refers to the package {vendor:?}, which is not installed beside {}", dir.display())]
    NotInstalled {
        key: String,
        value: String,
        vendor: String,
        dir: PathBuf,
    },
    #[error(
        "{fqbn:?} is not a board name ({why}); use a PlatformIO id such as `uno` or an FQBN such as `arduino:avr:nano:cpu=atmega328old`"
    )]
    Fqbn { fqbn: String, why: String },
    #[error("unknown board {board:?}{}", did_you_mean(known))]
    UnknownBoard { board: String, known: Vec<String> },
    #[error("board {board} in {}: unknown menu {menu:?}{}", file.display(), close_matches(known))]
    UnknownMenu {
        /// Boxed: a Windows `PathBuf` makes the error too large to pass.
        file: Box<Path>,
        board: String,
        menu: String,
        known: Vec<String>,
    },
    #[error(
        "board {board} in {}: {menu}={option} is not an option{}",
        file.display(),
        close_matches(known)
    )]
    UnknownOption {
        file: Box<Path>,
        board: String,
        menu: String,
        option: String,
        known: Vec<String>,
    },
}

fn hint(placeholder: &str) -> String {
    format!("; define `{placeholder}` (in platform.txt, boards.txt or board_build.*) or remove it")
}

/// `; did you mean a, b?` for an unknown name.
fn did_you_mean(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

/// `; known: …` for an unknown menu or option.
fn close_matches(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!("; known: {}", known.join(", "))
    }
}

/// The builders' own rules (`data/compat.txt`), parsed once per process:
/// deploy and build both resolve boards.
fn compat_rules() -> &'static Properties {
    static RULES: std::sync::OnceLock<Properties> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        Properties::parse(
            include_str!("../../data/compat.txt"),
            Path::new("compat.txt"),
        )
        .expect("data/compat.txt parses (checked by a test)")
    })
}

/// One installed core: `<dir>` holds platform.txt and boards.txt.
#[derive(Debug, Clone)]
pub struct ArduinoPlatform {
    pub dir: PathBuf,
    pub vendor: String,
    pub arch: String,
    pub platform: Properties,
    pub boards: Properties,
    pub programmers: Properties,
}

/// Where the host's platform files are said to be (`data/native/`, built
/// into fbuild: no path of the machine that built it, which errors named).
const NATIVE_DIR: &str = "(built into fbuild) platforms/data/native";

/// One of the host's platform files, embedded at build time.
fn native_file(text: &str, name: &str) -> Properties {
    Properties::parse(text, &Path::new(NATIVE_DIR).join(name))
        .expect("data/native parses (checked by a test)")
}

/// The host's `platform.txt` alone (its tools, for the platforms' data).
pub(crate) fn native_platform_txt() -> Properties {
    native_file(
        include_str!("../../data/native/platform.txt"),
        "platform.txt",
    )
}

impl ArduinoPlatform {
    /// Reads the core in `dir` as `vendor:arch`.
    pub fn load(dir: &Path, vendor: &str, arch: &str) -> Result<Self, PlatformError> {
        let optional = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Properties::load(&path)
            } else {
                Ok(Properties::default())
            }
        };
        Ok(ArduinoPlatform {
            dir: dir.to_path_buf(),
            vendor: vendor.to_string(),
            arch: arch.to_string(),
            // A platform whose boards use another vendor's core may leave
            // platform.txt out: it inherits the referenced one's.
            platform: optional("platform.txt")?,
            boards: Properties::load(&dir.join("boards.txt"))?,
            programmers: optional("programmers.txt")?,
        })
    }

    /// The host as a platform (`platform = native`): recipes for the host's
    /// compilers, written in the same format (`data/native/`).
    pub fn native() -> Self {
        ArduinoPlatform {
            dir: NATIVE_DIR.into(),
            vendor: "fbuild".into(),
            arch: fbuild_core::platform::Platform::NATIVE.into(),
            platform: native_platform_txt(),
            boards: native_file(include_str!("../../data/native/boards.txt"), "boards.txt"),
            programmers: Properties::default(),
        }
    }

    /// Applies the builders' own rules (`data/compat.txt`) to the
    /// properties of a board of this core: defaults for the core, then for
    /// every core, appends by MCU, arguments by upload protocol.
    pub fn apply_compat(&self, props: &mut Properties) {
        let rules = compat_rules();
        for core in [
            format!("core.{}.{}", self.vendor, self.arch),
            "core.*.*".into(),
        ] {
            let defaults = rules.subtree(&core);
            for key in defaults.keys() {
                if !props.contains(key) {
                    props.set(key, defaults.get(key).unwrap_or_default());
                }
            }
        }
        let mcu = props.get("build.mcu").unwrap_or_default().to_string();
        let tails = |prefix: &str, sep: &str| -> Vec<(String, String)> {
            let subtree = rules.subtree(prefix);
            subtree
                .keys()
                .map(|k| {
                    (
                        k.to_string(),
                        format!("{sep}{}", subtree.get(k).unwrap_or_default()),
                    )
                })
                .collect()
        };
        let protocol = props.get("upload.protocol").unwrap_or_default().to_string();
        let mut edits = tails(&format!("mcu.{mcu}.append"), "");
        edits.extend(tails(&format!("protocol.{protocol}.append_arg"), " "));
        for (key, tail) in edits {
            if let Some(value) = props.get(&key) {
                let value = format!("{value}{tail}");
                props.set(key, value);
            }
        }
    }

    /// The flags every C++ compile takes when the coordinator's toolchain
    /// probe `probe` (a field of the toolchain it reports, such as
    /// `cxx_needs_decimal_dig`) came out true: `toolchain.<probe>.cxx_flags`
    /// of `data/compat.txt`, split into arguments.
    pub fn toolchain_cxx_flags(probe: &str) -> Vec<String> {
        compat_rules()
            .get(&format!("toolchain.{probe}.cxx_flags"))
            .map(split_command)
            .unwrap_or_default()
    }

    /// The folder `<kind>/<name>` (`cores`, `variants`) that `key`'s value
    /// names: `name` in this platform, `vendor:name` in the platform of that
    /// vendor (this one, or `referenced`).
    pub fn folder(
        &self,
        value: &str,
        kind: &str,
        key: &str,
        referenced: Option<&ArduinoPlatform>,
    ) -> Result<PathBuf, PlatformError> {
        let (platform, name) = match value.split_once(':') {
            None => (self, value),
            Some((vendor, name)) if vendor == self.vendor => (self, name),
            Some((vendor, name)) => match referenced.filter(|r| r.vendor == vendor) {
                Some(r) => (r, name),
                None => {
                    return Err(PlatformError::NotInstalled {
                        key: key.into(),
                        value: value.into(),
                        vendor: vendor.into(),
                        dir: self.dir.clone(),
                    });
                }
            },
        };
        Ok(platform.dir.join(kind).join(name))
    }

    /// Board ids in boards.txt order (`menu` is not a board).
    pub fn board_ids(&self) -> Vec<String> {
        self.boards
            .first_level()
            .into_iter()
            .filter(|id| id != "menu" && self.boards.contains(&format!("{id}.name")))
            .collect()
    }
}
