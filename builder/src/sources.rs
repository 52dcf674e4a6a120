//! What to compile for one environment: the sketch (`.ino` files combined),
//! the other sources under `src/` (after `build_src_filter`), the framework
//! core, and the libraries `ldf` picks (`lib_deps`, and what the sources
//! include from `lib/`, `lib_extra_dirs` and the core's bundled libraries
//! such as Wire, SPI, EEPROM, SoftwareSerial).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::sketch::{InoFile, combine};
pub use crate::files::Lang;
use crate::files::{files_under, filtered, lang_of};
use crate::ldf::Finder;
pub use crate::ldf::Library;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    Core,
    Library(String),
    Project,
}

#[derive(Debug, Clone)]
pub struct Unit {
    pub source: PathBuf,
    pub object: PathBuf,
    pub lang: Lang,
    pub group: Group,
    /// Flags for this unit only (a library's `build.flags`).
    pub flags: Vec<String>,
}

/// Everything one environment compiles.
#[derive(Debug, Default)]
pub struct Sources {
    pub units: Vec<Unit>,
    pub libraries: Vec<Library>,
    /// Include directories, in order.
    pub include_dirs: Vec<PathBuf>,
}

pub struct Layout<'a> {
    pub root: &'a Path,
    pub src_dir: &'a Path,
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
    if !l.src_dir.is_dir() {
        bail!(
            "{} does not exist: put the sketch or sources there (or set src_dir)",
            l.src_dir.display()
        );
    }
    let project_files = filtered(l.src_dir, l.src_filter)?;
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
        bail!(
            "no sources in {} (after build_src_filter)",
            l.src_dir.display()
        );
    }
    s.include_dirs.push(l.src_dir.to_path_buf());
    if let Some((dir, filter)) = l.also_src {
        for f in filtered(dir, filter)?
            .iter()
            .filter(|p| lang_of(p).is_some())
        {
            scan.push(f.clone());
            s.units
                .push(unit(l, f, lang_of(f).unwrap(), Group::Project, "app", dir));
        }
        s.include_dirs.push(dir.to_path_buf());
    }
    if let Some((core, variant)) = &l.core {
        s.include_dirs.push(core.clone());
        s.include_dirs.extend(variant.iter().cloned());
        for f in files_under(core)? {
            if let Some(lang) = lang_of(&f) {
                s.units.push(unit(l, &f, lang, Group::Core, "core", core));
            }
        }
    }
    libraries(l, &mut s, scan)?;
    Ok(s)
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
            text: std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
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
        std::fs::create_dir_all(out.parent().unwrap())?;
        std::fs::write(&out, text)?;
    }
    Ok(out)
}

/// Adds the libraries the finder picks (see `ldf`) and their sources.
fn libraries(l: &Layout, s: &mut Sources, scan: Vec<PathBuf>) -> Result<()> {
    for lib in l.finder.find(scan)? {
        s.include_dirs.extend(lib.include_dirs.iter().cloned());
        for f in filtered(&lib.root, &lib.src_filter)? {
            if let Some(lang) = lang_of(&f) {
                let mut u = unit(
                    l,
                    &f,
                    lang,
                    Group::Library(lib.name.clone()),
                    &format!("lib/{}", lib.name),
                    &lib.root,
                );
                u.flags = lib.flags.clone();
                s.units.push(u);
            }
        }
        s.libraries.push(lib);
    }
    Ok(())
}

/// A unit whose object goes to `<out>/<prefix>/<source relative to base>.o`.
fn unit(l: &Layout, source: &Path, lang: Lang, group: Group, prefix: &str, base: &Path) -> Unit {
    let rel = source
        .strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(source.file_name().unwrap_or_default()));
    let mut object = l.out_dir.join(prefix).join(rel).into_os_string();
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
