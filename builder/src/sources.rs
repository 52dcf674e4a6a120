//! What to compile for one environment: the sketch (`.ino` files combined),
//! the other sources under `src/` (after `build_src_filter`), the framework
//! core, and the libraries the sources actually include (`lib/<name>`,
//! `lib_deps` paths, and the core's bundled libraries such as Wire, SPI,
//! EEPROM, SoftwareSerial).

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::sketch::{InoFile, combine, includes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    C,
    Cxx,
    Asm,
}

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
}

#[derive(Debug, Clone)]
pub struct Library {
    pub name: String,
    /// The folder with the library's headers and sources (`<lib>/src` or `<lib>`).
    pub root: PathBuf,
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
    pub lib_dir: &'a Path,
    pub out_dir: &'a Path,
    pub src_filter: &'a [String],
    pub lib_deps: &'a [String],
    /// Arduino core: `cores/<core>`, the variant dir (if the board has
    /// one) and `libraries/`.
    pub core: Option<(PathBuf, Option<PathBuf>, Vec<PathBuf>)>,
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
    if let Some((core, variant, _)) = &l.core {
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

/// Adds the libraries the scanned sources include, transitively.
fn libraries(l: &Layout, s: &mut Sources, scan: Vec<PathBuf>) -> Result<()> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for dep in l.lib_deps {
        let path = l.root.join(dep.trim_start_matches("file://"));
        if !path.is_dir() {
            bail!(
                "lib_deps entry {dep:?}: {} is not a directory (only local library paths are supported)",
                path.display()
            );
        }
        candidates.push(path);
    }
    let core_libraries = l.core.iter().flat_map(|c| c.2.iter().cloned());
    for dir in std::iter::once(l.lib_dir.to_path_buf()).chain(core_libraries) {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut subdirs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            subdirs.sort();
            candidates.extend(subdirs);
        }
    }
    let libs: Vec<Library> = candidates
        .iter()
        .map(|dir| Library {
            name: dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            root: if dir.join("src").is_dir() {
                dir.join("src")
            } else {
                dir.clone()
            },
        })
        .collect();
    let mut used: BTreeSet<usize> = (0..l.lib_deps.len()).collect();
    let mut queue: VecDeque<PathBuf> = scan.into();
    for i in &used {
        queue.extend(files_under(&libs[*i].root)?);
    }
    let mut seen_headers = BTreeSet::new();
    while let Some(file) = queue.pop_front() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for header in includes(&text) {
            if !seen_headers.insert(header.clone()) {
                continue;
            }
            if let Some(i) = libs.iter().position(|lib| lib.root.join(&header).is_file())
                && used.insert(i)
            {
                queue.extend(files_under(&libs[i].root)?);
            }
        }
    }
    for i in used {
        let lib = &libs[i];
        s.include_dirs.push(lib.root.clone());
        for f in files_under(&lib.root)? {
            if let Some(lang) = lang_of(&f) {
                s.units.push(unit(
                    l,
                    &f,
                    lang,
                    Group::Library(lib.name.clone()),
                    &format!("lib/{}", lib.name),
                    &lib.root,
                ));
            }
        }
        s.libraries.push(lib.clone());
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
    }
}

fn ext(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn lang_of(p: &Path) -> Option<Lang> {
    match p.extension()?.to_str()? {
        "c" => Some(Lang::C),
        "cpp" | "cc" | "cxx" => Some(Lang::Cxx),
        "S" => Some(Lang::Asm),
        _ => None,
    }
}

/// Source files under `dir`, sorted, skipping examples and tests of libraries.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !["examples", "extras", "test", "tests", ".git"].contains(&name.as_str()) {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Files under `src_dir` selected by `+<…>` / `-<…>` filters (default
/// `+<*>`), applied in order; patterns are relative to `src_dir`, `*`
/// matches anything, a trailing `/` means everything below a folder.
fn filtered(src_dir: &Path, filter: &[String]) -> Result<Vec<PathBuf>> {
    let all = files_under(src_dir)?;
    let default = ["+<*>".to_string()];
    let filter = if filter.is_empty() {
        &default[..]
    } else {
        filter
    };
    Ok(all
        .into_iter()
        .filter(|f| {
            let rel = f
                .strip_prefix(src_dir)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned();
            let mut keep = false;
            for item in filter {
                let (sign, pattern) = item.split_at(1);
                let pattern = pattern.trim_start_matches('<').trim_end_matches('>');
                if matches(pattern, &rel) {
                    keep = sign == "+";
                }
            }
            keep
        })
        .collect())
}

fn matches(pattern: &str, path: &str) -> bool {
    if let Some(dir) = pattern.strip_suffix('/') {
        return glob(dir, path.split('/').next().unwrap_or("")) && path.contains('/')
            || path.starts_with(&format!("{dir}/"));
    }
    glob(pattern, path)
}

/// `*` matches any run of characters (including `/`), `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn src_filter() {
        assert!(matches("*", "a/b.c"));
        assert!(matches("*.c", "x.c") && !matches("*.c", "x.cpp"));
        assert!(matches("test/", "test/t.c") && !matches("test/", "main.c"));
        let dir = tempfile::tempdir().unwrap();
        for f in ["main.cpp", "skip.cpp", "test/t.cpp"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got = filtered(
            dir.path(),
            &["+<*>".into(), "-<test/>".into(), "-<skip.cpp>".into()],
        )
        .unwrap();
        assert_eq!(got, vec![dir.path().join("main.cpp")]);
    }
}
