//! The library dependency finder: which libraries one environment builds.
//! `lib_deps` (resolved to folders) always; then, by `lib_ldf_mode`, the
//! libraries the sources include, looked up in `lib/`, `lib_extra_dirs`
//! and the core's bundled libraries, in that order:
//! * `chain` (default): from each included header, that header's own
//!   includes and the sources beside it with the same name;
//! * `deep`: every source of each library found;
//! * `off`: nothing beyond `lib_deps`.
//!
//! `lib_ignore` names libraries never used; `lib_compat_mode = soft` skips
//! libraries whose manifest is for other platforms or architectures.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::files::Links;
use crate::libs::manifest::{self, Manifest};
use crate::observed;
use crate::project::LdfMode;
use crate::report::{self, Kind};
use crate::sketch::includes;

/// A library as the build uses it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Library {
    pub name: String,
    /// The folder its sources are compiled from.
    pub root: PathBuf,
    /// What it exports to the includers.
    pub include_dirs: Vec<PathBuf>,
    /// `build.flags` of its manifest, for its own sources.
    pub flags: Vec<String>,
    /// `build.srcFilter` of its manifest.
    pub src_filter: Vec<String>,
    /// `build.libArchive` of its manifest (default true).
    pub archive: bool,
    /// Its folder, when it is a package (in fbuild's store or a core's):
    /// its walks do not follow links out of it.
    pub package: Option<PathBuf>,
}

impl Library {
    /// How walks of its sources treat links (`warn`: this walk says what
    /// it skips).
    pub fn links(&self, warn: bool) -> Links<'_> {
        match &self.package {
            Some(root) => Links::Within { root, warn },
            None => Links::Follow,
        }
    }
}

/// The build the libraries must fit (`lib_compat_mode`), if checked.
#[derive(Debug)]
pub struct Compat<'a> {
    pub platform: &'a str,
    pub framework: Option<&'a str>,
    pub arch: Option<&'a str>,
}

#[derive(Debug)]
pub struct Finder<'a> {
    /// `lib_deps` folders, always built.
    pub explicit: &'a [PathBuf],
    /// Folders of libraries found by includes: `lib/`, `lib_extra_dirs`,
    /// the core's `libraries/`.
    pub search: Vec<PathBuf>,
    pub ignore: &'a [String],
    pub mode: LdfMode,
    pub compat: Option<Compat<'a>>,
    /// Folders of packages (fbuild's library store, the core's): a library
    /// under one is confined to its own folder.
    pub packages: Vec<PathBuf>,
}

impl Finder<'_> {
    /// The libraries to build, given the project's sources to scan.
    pub fn find(&self, scan: Vec<PathBuf>) -> Result<Vec<Library>> {
        let mut libs: Vec<Library> = Vec::new();
        let mut names = BTreeSet::new();
        let mut explicit = 0;
        for (i, dir) in self.explicit.iter().chain(&self.subdirs()).enumerate() {
            let m = manifest::read(dir).map_err(|e| anyhow!(e))?;
            let ignored = self.ignore.iter().any(|n| n.eq_ignore_ascii_case(&m.name));
            if ignored
                || !names.insert(m.name.to_lowercase())
                || !self.fits(&m, i < self.explicit.len())
            {
                continue;
            }
            explicit += usize::from(i < self.explicit.len());
            libs.push(library(m, self.package_of(dir)));
        }
        // In the order found, as the Arduino builders link them.
        let mut used: Vec<usize> = (0..explicit).collect();
        let mut queue: VecDeque<PathBuf> = VecDeque::new();
        if self.mode != LdfMode::Off {
            queue.extend(scan);
            for lib in &libs[..explicit] {
                queue.extend(sources_of(lib, self.mode)?);
            }
        }
        let mut seen = BTreeSet::new();
        while let Some(file) = queue.pop_front() {
            if !seen.insert(file.clone()) {
                continue;
            }
            let Ok(text) = observed::read_to_string(&file) else {
                continue;
            };
            for header in includes(&text) {
                let beside = file.parent().map(|d| d.join(&header));
                if let Some(p) = beside.filter(|p| observed::is_file(p)) {
                    queue.push_back(p);
                    continue;
                }
                let Some((i, path)) = libs.iter().enumerate().find_map(|(i, lib)| {
                    lib.include_dirs
                        .iter()
                        .map(|d| d.join(&header))
                        .find(|p| observed::is_file(p))
                        .map(|p| (i, p))
                }) else {
                    continue;
                };
                let first = !used.contains(&i);
                if first {
                    used.push(i);
                }
                match self.mode {
                    LdfMode::Deep if first => queue.extend(sources_of(&libs[i], LdfMode::Deep)?),
                    LdfMode::Deep => {}
                    _ => {
                        queue.extend(same_name_sources(&path));
                        queue.push_back(path);
                    }
                }
            }
        }
        Ok(used.into_iter().map(|i| libs[i].clone()).collect())
    }

    /// `dir` itself when it is a package's folder (under one of
    /// `packages`), compared as the file system resolves them.
    fn package_of(&self, dir: &Path) -> Option<PathBuf> {
        observed::record(dir);
        let real = std::fs::canonicalize(dir).ok()?;
        self.packages
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .any(|p| real.starts_with(p))
            .then(|| dir.to_path_buf())
    }

    fn subdirs(&self) -> Vec<PathBuf> {
        self.search
            .iter()
            .flat_map(|d| crate::files::subdirs(d))
            .collect()
    }

    /// Compatible with the build, or compat checks off; an incompatible
    /// `lib_deps` library is reported.
    fn fits(&self, m: &Manifest, explicit: bool) -> bool {
        let Some(c) = &self.compat else {
            return true;
        };
        let ok = m.compatible(c.platform, c.framework, c.arch);
        if !ok && explicit {
            report::say(
                Kind::Warning,
                format!(
                    "fbuild: warning: library {} is not for this build (platforms {:?}, architectures {:?}); \
                 not used. `lib_compat_mode = off` uses it anyway.",
                    m.name, m.platforms, m.architectures
                ),
            );
        }
        ok
    }
}

fn library(m: Manifest, package: Option<PathBuf>) -> Library {
    Library {
        package,
        name: m.name,
        root: m.src_dir,
        include_dirs: m.include_dirs,
        flags: m.flags,
        src_filter: m.src_filter,
        archive: m.archive,
    }
}

/// What to scan of a library built for its own sake: every file (`deep`)
/// or its sources (`chain`). Quietly: the build's own walk says what it
/// skips.
fn sources_of(lib: &Library, mode: LdfMode) -> Result<Vec<PathBuf>> {
    let files = crate::files::files_under(&lib.root, lib.links(false))?;
    Ok(match mode {
        LdfMode::Deep => files,
        _ => files
            .into_iter()
            .filter(|f| crate::files::lang_of(f).is_some())
            .collect(),
    })
}

/// `dir/Name.c`, `dir/Name.cpp`, … beside the header `dir/Name.h`.
fn same_name_sources(header: &Path) -> Vec<PathBuf> {
    ["c", "cpp", "cc", "cxx", "S"]
        .iter()
        .map(|e| header.with_extension(e))
        .filter(|p| observed::is_file(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_libraries_of_packages_are_confined() {
        let dir = tempfile::tempdir().unwrap();
        let (store, own) = (dir.path().join("home/libraries"), dir.path().join("lib"));
        for d in [store.join("Stored/src"), own.join("Mine/src")] {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("x.h"), "").unwrap();
        }
        let explicit = [store.join("Stored"), own.join("Mine")];
        let finder = Finder {
            explicit: &explicit,
            search: Vec::new(),
            ignore: &[],
            mode: LdfMode::Chain,
            compat: None,
            packages: vec![dir.path().join("home")],
        };
        let libs = finder.find(Vec::new()).unwrap();
        let confined: Vec<_> = libs.iter().map(|l| l.package.is_some()).collect();
        assert_eq!(confined, [true, false], "{libs:?}");
        assert!(matches!(libs[0].links(false), Links::Within { .. }));
    }
}
