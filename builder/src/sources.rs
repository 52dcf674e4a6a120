//! What to compile for one environment: the sketch (`.ino` files combined),
//! the other sources under `src/` (after `build_src_filter`), the framework
//! core, and the libraries `ldf` picks (`lib_deps`, and what the sources
//! include from `lib/`, `lib_extra_dirs` and the core's bundled libraries
//! such as Wire, SPI, EEPROM, SoftwareSerial).
//!
//! Units come in the order the Arduino builders compile and link them
//! (arduino-builder's `CompileFiles`/`CompileFilesRecursive`): the
//! sketch's own files, then its subfolders; each library folder by
//! folder; the variant's and the core's files; within a set, `.S` before
//! `.c` before C++, then by name. Without LTO, the link order is the
//! firmware's layout: the same order gives the same bytes.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::sketch::{InoFile, combine};
pub use crate::files::Lang;
use crate::files::{Links, files_under, filtered, lang_of};
use crate::ldf::Finder;
pub use crate::ldf::Library;
use crate::observed;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Group {
    Core,
    /// The board variant's own sources (linked as objects, not archived).
    Variant,
    /// The library at this index of [`Sources::libraries`].
    Library(usize),
    Project,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    pub source: PathBuf,
    pub object: PathBuf,
    pub lang: Lang,
    pub group: Group,
    /// Flags for this unit only (a library's `build.flags`).
    pub flags: Vec<String>,
}

/// Everything one environment compiles.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sources {
    pub units: Vec<Unit>,
    /// The libraries, in link order, each with the folder name its objects
    /// (and archive) go under: its name made safe for a file name, unique.
    pub libraries: Vec<(Library, String)>,
    /// Include directories, in order.
    pub include_dirs: Vec<PathBuf>,
    /// The project's source folders among them (`src_dir`, a test build's
    /// `src/`): on the include path of the project's own sources only.
    #[serde(default)]
    pub project_dirs: Vec<PathBuf>,
    /// The libraries' include folders among them: not on the include
    /// path of the core's and the variant's sources (as arduino-builder
    /// and PlatformIO build the core: a core is then the same build in
    /// every project, see `lib_store`).
    #[serde(default)]
    pub library_dirs: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct Layout<'a> {
    pub root: &'a Path,
    pub src_dir: &'a Path,
    /// The project's `include/`, on the include path if it exists.
    pub include_dir: &'a Path,
    pub out_dir: &'a Path,
    pub src_filter: &'a [String],
    /// More project sources and their filter (a test suite's build with
    /// `test_build_src`: the project's `src/`).
    pub also_src: Option<(&'a Path, &'a [String])>,
    /// Arduino core: `cores/<core>` and the variant dir (if the board has
    /// one).
    pub core: Option<(PathBuf, Option<PathBuf>)>,
    /// Which libraries to build.
    pub finder: Finder<'a>,
}

pub fn collect(l: &Layout) -> Result<Sources> {
    let mut s = Sources::default();
    if !observed::is_dir(l.src_dir) {
        bail!(
            "{} does not exist: put the sketch or sources there (or set src_dir)",
            l.src_dir.display()
        );
    }
    let project_files = filtered(l.src_dir, l.src_filter, Links::Follow)?;
    let mut scan: Vec<PathBuf> = Vec::new();
    let inos: Vec<&PathBuf> = project_files
        .iter()
        .filter(|p| ext(p) == "ino" || ext(p) == "pde")
        .collect();
    if !inos.is_empty() {
        let cpp = sketch_cpp(l, &inos)?;
        scan.push(cpp.clone());
        s.units.push(unit(
            l,
            &cpp,
            Lang::Cxx,
            Group::Project,
            "src",
            &l.out_dir.join("sketch"),
        ));
    }
    for f in project_files.iter().filter(|p| lang_of(p).is_some()) {
        scan.push(f.clone());
        s.units.push(unit(
            l,
            f,
            lang_of(f).unwrap(),
            Group::Project,
            "src",
            l.src_dir,
        ));
    }
    if s.units.is_empty() {
        // The filter may come from PlatformIO's variable, not the file.
        let from_variable = crate::project::sysenv::variable("build_src_filter")
            .map(|(name, _)| format!(", which {name} adds to"))
            .unwrap_or_default();
        bail!(
            "no sources in {} (after build_src_filter{from_variable})",
            l.src_dir.display()
        );
    }
    in_order(&mut s.units, l.src_dir, Order::Sketch);
    s.include_dirs.push(l.src_dir.to_path_buf());
    // Hidden from libraries: the project's sources (not a test build's
    // suite, which PlatformIO puts on every compile's path, nor a folder
    // that is also `include_dir`).
    if l.also_src.is_none() && l.src_dir != l.include_dir {
        s.project_dirs.push(l.src_dir.to_path_buf());
    }
    if observed::is_dir(l.include_dir) {
        s.include_dirs.push(l.include_dir.to_path_buf());
    }
    if let Some((dir, filter)) = l.also_src {
        let mut app = Vec::new();
        for f in filtered(dir, filter, Links::Follow)?
            .iter()
            .filter(|p| lang_of(p).is_some())
        {
            scan.push(f.clone());
            app.push(unit(l, f, lang_of(f).unwrap(), Group::Project, "app", dir));
        }
        in_order(&mut app, dir, Order::Sketch);
        s.units.extend(app);
        s.include_dirs.push(dir.to_path_buf());
        if dir != l.include_dir {
            s.project_dirs.push(dir.to_path_buf());
        }
    }
    if let Some((core, variant)) = &l.core {
        s.include_dirs.push(core.clone());
        s.include_dirs.extend(variant.iter().cloned());
    }
    libraries(l, &mut s, scan)?;
    if let Some((core, variant)) = &l.core {
        if let Some(variant) = variant.as_ref().filter(|v| observed::is_dir(v)) {
            s.units
                .extend(folder_units(l, variant, Group::Variant, "variant")?);
        }
        s.units.extend(folder_units(l, core, Group::Core, "core")?);
    }
    Ok(s)
}

impl Sources {
    /// The include path of `unit`: everything for the project's own
    /// sources; without the project's source folders for a library's, the
    /// core's and the variant's (as PlatformIO and the Arduino builders
    /// compile them: a library sees the project's `include/`, not its
    /// `src/`), so their compiles, and objects, stay the same whichever
    /// sketch or example uses them; without the libraries' folders for
    /// the core's and the variant's.
    pub fn include_dirs_of(&self, unit: &Unit) -> Vec<PathBuf> {
        let core = matches!(unit.group, Group::Core | Group::Variant);
        match unit.group {
            Group::Project => self.include_dirs.clone(),
            _ => self
                .include_dirs
                .iter()
                .filter(|d| !self.project_dirs.contains(d))
                .filter(|d| !(core && self.library_dirs.contains(d)))
                .cloned()
                .collect(),
        }
    }

    /// The files in the project's own include folders (those under
    /// `root`, the build folder aside), sources aside: a header that
    /// appears there may shadow one an object was compiled with.
    pub fn headers(&self, root: &Path, build_dir: &Path) -> BTreeSet<PathBuf> {
        let mut headers = BTreeSet::new();
        for dir in &self.include_dirs {
            if !dir.starts_with(root) || dir.starts_with(build_dir) {
                continue;
            }
            let files = files_under(dir, Links::Follow).unwrap_or_default();
            headers.extend(files.into_iter().filter(|f| lang_of(f).is_none()));
        }
        headers
    }
}

/// The sources of a core or variant folder, in the Arduino order.
fn folder_units(l: &Layout, dir: &Path, group: Group, prefix: &str) -> Result<Vec<Unit>> {
    let links = Links::Within {
        root: dir,
        warn: true,
    };
    let mut units: Vec<Unit> = files_under(dir, links)?
        .iter()
        .filter_map(|f| Some(unit(l, f, lang_of(f)?, group.clone(), prefix, dir)))
        .collect();
    in_order(&mut units, dir, Order::KindFirst);
    Ok(units)
}

/// How the Arduino builders walk a folder's sources.
#[derive(Clone, Copy)]
enum Order {
    /// The core and the variant (`CompileFiles`, recursive): every `.S`
    /// of the tree, then every `.c`, then C++; a folder's files before its
    /// subfolders', names in byte order.
    KindFirst,
    /// A library (`CompileFilesRecursive`): folder by folder (a folder
    /// before its subfolders), and in each, `.S`, `.c`, C++.
    FolderFirst,
    /// The sketch: its top folder's files (`.S`, `.c`, C++; the combined
    /// `.ino.cpp` among them), then its subfolders as [`Order::KindFirst`].
    Sketch,
}

/// Sorts `units` of the folder `base` in `order`.
fn in_order(units: &mut [Unit], base: &Path, order: Order) {
    units.sort_by_cached_key(|u| {
        // A unit outside `base` (the combined sketch) is a top-level file.
        let rel = u
            .source
            .strip_prefix(base)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(u.source.file_name().unwrap_or_default()));
        let mut dirs: Vec<OsString> = rel.iter().map(OsString::from).collect();
        let name = dirs.pop().unwrap_or_default();
        let kind = match u.lang {
            Lang::Asm => 0u8,
            Lang::C => 1,
            Lang::Cxx => 2,
        };
        match order {
            Order::KindFirst => (0, kind, dirs, 0, name),
            Order::FolderFirst => (0, 0, dirs, kind, name),
            Order::Sketch => (u8::from(!dirs.is_empty()), kind, dirs, 0, name),
        }
    });
}

/// Writes the combined sketch (only when its text changed, so an unchanged
/// sketch stays up to date) and returns its path.
fn sketch_cpp(l: &Layout, inos: &[&PathBuf]) -> Result<PathBuf> {
    let main_name = l
        .src_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files: Vec<&PathBuf> = inos.to_vec();
    // The main file first: named like its folder, else `main.ino`, else the first by name.
    files.sort_by_key(|p| {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (stem != main_name && stem != "main", p.to_path_buf())
    });
    let mut parts = Vec::new();
    for f in &files {
        parts.push(InoFile {
            display: f.strip_prefix(l.root).unwrap_or(f).display().to_string(),
            text: observed::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?,
        });
    }
    let stem = files[0]
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let out = l.out_dir.join("sketch").join(format!("{stem}.ino.cpp"));
    let text = combine(&parts);
    if std::fs::read_to_string(&out).ok().as_deref() != Some(text.as_str()) {
        let dir = l.out_dir.join("sketch");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    }
    // Remembered as written: removed or edited, the sources are collected
    // again (and it is written again).
    observed::record(&out);
    Ok(out)
}

/// Adds the libraries the finder picks (see `ldf`) and their sources.
fn libraries(l: &Layout, s: &mut Sources, scan: Vec<PathBuf>) -> Result<()> {
    let mut taken = HashSet::new();
    for lib in l.finder.find(scan)? {
        s.include_dirs.extend(lib.include_dirs.iter().cloned());
        s.library_dirs.extend(lib.include_dirs.iter().cloned());
        let folder = folder_name(&lib.name, &mut taken);
        let mut units = Vec::new();
        for f in filtered(&lib.root, &lib.src_filter, lib.links(true))? {
            if let Some(lang) = lang_of(&f) {
                let group = Group::Library(s.libraries.len());
                let mut u = unit(l, &f, lang, group, &format!("lib/{folder}"), &lib.root);
                u.flags = lib.flags.clone();
                units.push(u);
            }
        }
        in_order(&mut units, &lib.root, Order::FolderFirst);
        s.units.extend(units);
        s.libraries.push((lib, folder));
    }
    Ok(())
}

/// A folder (and archive) name for the library `name`: its letters,
/// digits and `._-+`, others as `_` (a name is the library's own text:
/// `../../x` must not lead out of the build dir), unique among `taken`.
fn folder_name(name: &str, taken: &mut HashSet<String>) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.trim_matches('.').is_empty() {
        safe = format!("_{safe}");
    }
    let mut unique = safe.clone();
    let mut n = 1;
    while !taken.insert(unique.to_lowercase()) {
        n += 1;
        unique = format!("{safe}-{n}");
    }
    unique
}

/// A unit whose object goes to `<out>/<prefix>/<source relative to base>.o`.
fn unit(l: &Layout, source: &Path, lang: Lang, group: Group, prefix: &str, base: &Path) -> Unit {
    let rel = source
        .strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(source.file_name().unwrap_or_default()));
    // `prefix` is `/`-separated (`lib/Foo`): joined part by part, so a
    // Windows object path has one kind of separator.
    let dir = prefix
        .split('/')
        .fold(l.out_dir.to_path_buf(), |d, part| d.join(part));
    let mut object = dir.join(rel).into_os_string();
    object.push(".o");
    Unit {
        source: source.to_path_buf(),
        object: PathBuf::from(object),
        lang,
        group,
        flags: Vec::new(),
    }
}

fn ext(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}
