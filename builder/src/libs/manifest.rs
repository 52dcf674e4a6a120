//! A library folder as PlatformIO and the Arduino IDE read it: its manifest
//! (`library.json`, else `library.properties`, else none) and layout.
//! * `library.json`: `name`, `version`, `dependencies` (a list of `{owner,
//!   name, version, platforms, frameworks}` or a map `"[owner/]name":
//!   "range"`), `platforms`, `frameworks`, `build.{flags, srcDir,
//!   includeDir, srcFilter, libArchive}`.
//! * `library.properties`: `name`, `version`, `depends=A, B (>=1.2.0)`,
//!   `architectures`.
//! * Layout: `src/` when it exists (the 1.5 format), else the folder
//!   itself (examples, extras and tests skipped).

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestDep {
    pub owner: Option<String>,
    pub name: String,
    /// As written (`^1.2.3`, `>=1.0.0`; empty: any).
    pub range: String,
    /// Only for these platforms (`atmelavr`), when given.
    pub platforms: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub name: String,
    pub version: Option<String>,
    pub deps: Vec<ManifestDep>,
    /// `platforms` of library.json (PlatformIO ids).
    pub platforms: Vec<String>,
    pub frameworks: Vec<String>,
    /// `architectures` of library.properties (`avr`, `*`).
    pub architectures: Vec<String>,
    /// Sources are compiled from here.
    pub src_dir: PathBuf,
    /// Include directories the library exports.
    pub include_dirs: Vec<PathBuf>,
    /// `build.flags`, for the library's own sources.
    pub flags: Vec<String>,
    /// `build.srcFilter` (`+<*>`, `-<tests/>`).
    pub src_filter: Vec<String>,
    /// `build.libArchive` (default true): linked as an archive.
    pub archive: bool,
}

/// Reads `dir`'s manifest and layout; the name defaults to the folder's.
pub fn read(dir: &Path) -> Result<Manifest, String> {
    let mut m = Manifest {
        archive: true,
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..Default::default()
    };
    let json = dir.join("library.json");
    let props = dir.join("library.properties");
    let mut src_dir = None;
    let mut include_dir = None;
    if crate::observed::is_file(&json) {
        let text = crate::observed::read_to_string(&json)
            .map_err(|e| format!("{}: {e}", json.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not valid JSON ({e})", json.display()))?;
        if let Some(n) = v["name"].as_str() {
            m.name = n.to_string();
        }
        m.version = v["version"].as_str().map(str::to_string);
        m.deps = json_deps(&v["dependencies"]);
        m.platforms = list(&v["platforms"]);
        m.frameworks = list(&v["frameworks"]);
        let build = &v["build"];
        m.flags = list(&build["flags"])
            .iter()
            .flat_map(|f| crate::project::config::split_flags(f))
            .collect();
        m.src_filter = list(&build["srcFilter"]);
        m.archive = match &build["libArchive"] {
            Value::Bool(b) => *b,
            Value::String(s) => crate::project::config::boolean(s).unwrap_or(true),
            _ => true,
        };
        let folder = |key: &str| -> Result<Option<PathBuf>, String> {
            build[key]
                .as_str()
                .map(|rel| inside(dir, rel))
                .transpose()
                .map_err(|why| format!("{}: build.{key} = {why}", json.display()))
        };
        src_dir = folder("srcDir")?;
        include_dir = folder("includeDir")?;
    } else if crate::observed::is_file(&props) {
        let text = crate::observed::read_to_string(&props)
            .map_err(|e| format!("{}: {e}", props.display()))?;
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "name" => m.name = value.to_string(),
                "version" => m.version = Some(value.to_string()),
                "depends" => m.deps = properties_deps(value),
                "architectures" => m.architectures = comma_list(value),
                _ => {}
            }
        }
    }
    let src = src_dir.unwrap_or_else(|| {
        if crate::observed::is_dir(&dir.join("src")) {
            dir.join("src")
        } else {
            dir.to_path_buf()
        }
    });
    m.include_dirs = match include_dir {
        Some(inc) if inc != src => vec![inc, src.clone()],
        _ => vec![src.clone()],
    };
    m.src_dir = src;
    Ok(m)
}

/// `rel`, a folder a manifest names, as a path inside the library `dir`:
/// relative, no `..` above the library, and not a link out of it. A
/// library builds from its own files only (seen: `"srcDir": "../../.."`
/// compiled files outside the package; `"includeDir": "/etc"` became
/// `-I/etc`).
fn inside(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut depth = 0usize;
    for c in Path::new(rel).components() {
        match c {
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if depth > 0 => depth -= 1,
            _ => {
                return Err(format!(
                    "{rel:?} leaves the library's folder: a library builds from its own files"
                ));
            }
        }
    }
    let path = dir.join(rel);
    crate::observed::record(&path);
    if let (Ok(real), Ok(root)) = (std::fs::canonicalize(&path), std::fs::canonicalize(dir))
        && !real.starts_with(&root)
    {
        return Err(format!(
            "{rel:?} leads out of the library's folder (to {}): a library builds from its own files",
            real.display()
        ));
    }
    Ok(path)
}

impl Manifest {
    /// Whether the library is for this build (`lib_compat_mode = soft`):
    /// its platforms/frameworks (library.json) or architectures
    /// (library.properties) include the env's, or `*`, or say nothing.
    pub fn compatible(&self, platform: &str, framework: Option<&str>, arch: Option<&str>) -> bool {
        let fits = |list: &[String], want: Option<&str>| {
            list.is_empty()
                || want.is_none()
                || list.iter().any(|x| x == "*" || Some(x.as_str()) == want)
        };
        fits(&self.platforms, Some(platform))
            && fits(&self.frameworks, framework)
            && fits(&self.architectures, arch)
    }
}

fn json_deps(v: &Value) -> Vec<ManifestDep> {
    let split = |who: &str| match who.split_once('/') {
        Some((o, n)) => (Some(o.to_string()), n.to_string()),
        None => (None, who.to_string()),
    };
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|d| {
                let (owner, name) = split(d["name"].as_str()?);
                Some(ManifestDep {
                    owner: d["owner"].as_str().map(str::to_string).or(owner),
                    name,
                    range: d["version"].as_str().unwrap_or("").to_string(),
                    platforms: list(&d["platforms"]),
                })
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(who, range)| {
                let (owner, name) = split(who);
                ManifestDep {
                    owner,
                    name,
                    range: range.as_str().unwrap_or("").to_string(),
                    platforms: Vec::new(),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `depends=Adafruit GFX Library, Counter (>=1.0.0)`.
fn properties_deps(value: &str) -> Vec<ManifestDep> {
    comma_list(value)
        .into_iter()
        .map(|item| {
            let (name, range) = match item.split_once('(') {
                Some((n, r)) => (n.trim(), r.trim_end_matches(')').trim()),
                None => (item.as_str(), ""),
            };
            ManifestDep {
                owner: None,
                name: name.to_string(),
                range: range.to_string(),
                platforms: Vec::new(),
            }
        })
        .collect()
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A string (comma-separated) or an array of strings.
fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => comma_list(s),
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("Greeting");
        std::fs::create_dir_all(lib.join("src")).unwrap();
        std::fs::write(
            lib.join("library.json"),
            r#"{"name":"Greeting","version":"1.1.0","platforms":["atmelavr","native"],
               "dependencies":[{"name":"Counter","version":"^1.0.0"},{"owner":"acme","name":"Fmt"}],
               "build":{"flags":"-DGREET=1 -Wno-unused"}}"#,
        )
        .unwrap();
        let m = read(&lib).unwrap();
        assert_eq!(m.deps[0].range, "^1.0.0");
        assert_eq!(m.deps[1].owner.as_deref(), Some("acme"));
        assert_eq!(m.flags, ["-DGREET=1", "-Wno-unused"]);
        assert_eq!(m.src_dir, lib.join("src"));
        assert!(m.compatible("atmelavr", Some("arduino"), Some("avr")));
        assert!(!m.compatible("ststm32", None, None));

        let flat = dir.path().join("Counter");
        std::fs::create_dir_all(&flat).unwrap();
        std::fs::write(
            flat.join("library.properties"),
            "name=Counter\nversion=1.2\ndepends=Wire, Fmt (>=1.0.0)\narchitectures=avr\n",
        )
        .unwrap();
        let m = read(&flat).unwrap();
        assert_eq!(m.src_dir, flat);
        assert_eq!(m.deps[1].name, "Fmt");
        assert_eq!(m.deps[1].range, ">=1.0.0");
        assert!(!m.compatible("native", None, None) || m.architectures == ["avr"]);
        assert!(!m.compatible("atmelavr", Some("arduino"), Some("sam")));
    }

    #[cfg(unix)] // non-UTF-8 names and symlinks are Unix facts
    #[test]
    fn folders_a_manifest_names_stay_inside_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("Lib");
        std::fs::create_dir_all(lib.join("src/inner")).unwrap();
        std::os::unix::fs::symlink("/etc", lib.join("etc")).unwrap();
        let manifest = |build: &str| {
            std::fs::write(
                lib.join("library.json"),
                format!(r#"{{"name":"Lib","build":{build}}}"#),
            )
            .unwrap();
            read(&lib)
        };
        let fine = manifest(r#"{"srcDir":"src/inner/..","includeDir":"./src/inner"}"#).unwrap();
        assert_eq!(fine.src_dir, lib.join("src/inner/.."));
        for (key, value) in [
            ("srcDir", "../../.."),
            ("srcDir", "/"),
            ("srcDir", "src/../.."),
            ("includeDir", "/etc"),
            ("includeDir", "etc"),
        ] {
            let err = manifest(&format!(r#"{{"{key}":"{value}"}}"#)).unwrap_err();
            assert!(
                err.contains(&format!("build.{key} = {value:?}")) && err.contains("library.json"),
                "{key}={value}: {err}"
            );
        }
    }
}
