//! The library store (`FBUILD_HOME/builds/libs/<key>/`): a core or library
//! built once for every project that builds it the same way, kept as the
//! archive any of them links. arduino-cli keeps the core this way; fbuild
//! keeps every archived library too.
//!
//! * Which groups: the core and each library linked as an archive, whose
//!   compiles read nothing of the project's ([`lib_store_key`]: the key
//!   covers the compiler, every argument, the sources, the archive
//!   recipe). A library that sees the project's `include/` is the
//!   project's own.
//! * An entry: the archive (`lib.a`) and `entry.json`, every file its
//!   objects were compiled from (sources, headers: the depfiles) with its
//!   stamp then (size, mtime, inode, ctime). It serves a build while each
//!   stands as it did: an edited library header is another build.
//! * Served: the archive is copied to where the project's own would be
//!   (the recipes' paths are unchanged), the group's compiles and archive
//!   step are not run. Not served: the group is built in the project as
//!   ever, under an OS lock per key (concurrent builds of one key build it
//!   once: the others wait, then are served), and kept when every input
//!   was settled (not written while it compiled): staged beside, renamed
//!   in whole.
//! * `FBUILD_CACHE=none` keeps and serves nothing; the coordinator prunes
//!   the store with the link store's rules.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use fbuild_core::home::LIBRARY_STORE_ENTRY as ENTRY;
use fbuild_core::link_store;
use fslock::LockFile;
use serde::{Deserialize, Serialize};

use crate::engine::Job;
use crate::lib_store_key;
use crate::recipes::Recipes;
use crate::report::{self, Kind};
use crate::sources::{Group, Sources};
use crate::state::{BuildState, Stamp};

/// The archive in an entry.
const ARCHIVE: &str = "lib.a";

/// A group this build could take from the store.
pub struct Candidate {
    pub group: Group,
    pub name: String,
    pub key: String,
    /// Where the project's archive of it goes (the recipes' path).
    pub archive: PathBuf,
    pub objects: Vec<PathBuf>,
    /// The folders its compiles search for headers.
    pub dirs: Vec<PathBuf>,
}

/// What an entry says it was built from.
#[derive(Serialize, Deserialize)]
struct Entry {
    name: String,
    #[serde(with = "crate::path_keys::map")]
    inputs: BTreeMap<PathBuf, Stamp>,
    /// Every folder an `#include` may have looked in (the search folders
    /// and theirs, the inputs' own): a file added to one (a header that
    /// would now be found first) changes its stamp.
    #[serde(with = "crate::path_keys::map")]
    dirs: BTreeMap<PathBuf, Option<Stamp>>,
}

/// A group this build makes, its key locked until it is kept.
struct Making {
    candidate: Candidate,
    _lock: LockFile,
}

/// The store as one build uses it.
#[derive(Default)]
pub struct LibraryStore {
    dir: PathBuf,
    /// The project's folders: a group that read a file in them is the
    /// project's own, never kept.
    private: Vec<PathBuf>,
    served: Vec<(Group, String)>,
    making: Vec<Making>,
    kept: Vec<String>,
}

/// The groups of this build the store could hold (see the module's
/// first lines); `private` are the project's folder and build folder.
pub fn candidates(
    jobs: &[Job],
    sources: &Sources,
    recipes: &Recipes,
    out_dir: &Path,
    private: &[&Path],
    lib_archive: bool,
) -> Result<Vec<Candidate>> {
    let mut groups: Vec<(Group, String, crate::recipes::Archive)> = Vec::new();
    if jobs.iter().any(|j| j.unit.group == Group::Core) {
        groups.push((Group::Core, "core".into(), recipes.core_archive()?));
    }
    for (i, (lib, folder)) in sources.libraries.iter().enumerate() {
        if lib_archive && lib.archive {
            let archive = recipes.library_archive(folder)?;
            groups.push((Group::Library(i), lib.name.clone(), archive));
        }
    }
    let mut out = Vec::new();
    let mut names = lib_store_key::NameSets::default();
    for (group, name, archive) in groups {
        let mine: Vec<&Job> = jobs.iter().filter(|j| j.unit.group == group).collect();
        if mine.is_empty() {
            continue;
        }
        let objects: Vec<PathBuf> = mine.iter().map(|j| j.unit.object.clone()).collect();
        let mut dirs: Vec<PathBuf> = mine
            .iter()
            .flat_map(|j| lib_store_key::search_dirs(&j.args))
            .filter(|d| !private.iter().any(|p| d.starts_with(p)))
            .collect();
        dirs.sort();
        dirs.dedup();
        let compiles: Vec<(&Path, &[OsString], &Path)> = mine
            .iter()
            .map(|j| {
                (
                    j.compiler.as_path(),
                    j.args.as_slice(),
                    j.unit.source.as_path(),
                )
            })
            .collect();
        let archive_cmds = recipes.archive(&objects, &archive)?;
        let outputs: Vec<PathBuf> = objects
            .iter()
            .flat_map(|o| [o.clone(), crate::engine::depfile(o)])
            .chain([archive.path.clone()])
            .collect();
        let label = format!("{group:?} {name}");
        if let Some(key) = lib_store_key::key(
            &label,
            &compiles,
            &archive_cmds,
            out_dir,
            &outputs,
            private,
            &mut names,
        ) {
            out.push(Candidate {
                group,
                name,
                key,
                archive: archive.path,
                objects,
                dirs,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

impl LibraryStore {
    /// Serves from `dir` each candidate it holds, removing its compiles
    /// from `jobs`; locks the others' keys (in key order: no two builds
    /// wait for each other) for this build to make. Returns the store and
    /// the number of compiles it spared. Blocking.
    pub fn take(
        dir: PathBuf,
        locks: &Path,
        private: &[&Path],
        candidates: Vec<Candidate>,
        state: &mut BuildState,
        jobs: &mut Vec<Job>,
    ) -> Result<(LibraryStore, usize)> {
        let mut store = LibraryStore {
            dir,
            private: private.iter().map(|p| p.to_path_buf()).collect(),
            ..LibraryStore::default()
        };
        let keys: std::collections::BTreeSet<&str> =
            candidates.iter().map(|c| c.key.as_str()).collect();
        state.keep_own_groups(&keys);
        for c in candidates {
            if state.own_groups.contains(&c.key) || store.serve(&c, state) {
                continue;
            }
            let lock = lock(locks, &c)?;
            // Another build may have kept it while this one waited.
            if store.serve(&c, state) {
                continue;
            }
            // Objects last compiled under another key are compiled again,
            // all of them (zccache serves what did not change): one the
            // project's state calls up to date may be of another compiler
            // (upgraded in place) than the key says.
            if !state.compiled_under(&c.archive, &c.key) {
                for object in &c.objects {
                    state.forget(object);
                }
            }
            store.making.push(Making {
                candidate: c,
                _lock: lock,
            });
        }
        let before = jobs.len();
        jobs.retain(|j| !store.serves(&j.unit.group));
        Ok((store, before - jobs.len()))
    }

    /// Whether `group`'s archive came from the store (nothing to compile
    /// or archive).
    pub fn serves(&self, group: &Group) -> bool {
        self.served.iter().any(|(g, _)| g == group)
    }

    /// `group`'s archive is made: kept in the store when this build makes
    /// it and every input was settled, and recorded in `state` as the
    /// store's (the next build, served, copies nothing and relinks
    /// nothing). A failure to keep is logged; the build goes on.
    pub fn made(&mut self, group: &Group, state: &mut BuildState) {
        let Some(at) = self.making.iter().position(|m| m.candidate.group == *group) else {
            return;
        };
        let making = self.making.remove(at);
        let c = &making.candidate;
        let Some(inputs) = inputs_of(&c.objects, state) else {
            return;
        };
        // It read a file of the project's, or a compile wrote no depfile
        // (its headers unknown): the project's own, from now on.
        let private = |p: &Path| self.private.iter().any(|d| p.starts_with(d));
        let no_depfile = c
            .objects
            .iter()
            .any(|o| !crate::engine::depfile(o).is_file());
        if no_depfile || inputs.keys().any(|p| private(p)) {
            state.own_group(&c.key);
            return;
        }
        let Some(dirs) = folder_stamps(&c.dirs, inputs.keys(), &private) else {
            return;
        };
        let entry = Entry {
            name: c.name.clone(),
            inputs,
            dirs,
        };
        match self.keep(c, &entry) {
            Ok(stored) => {
                state.record(&c.archive, &served_command(c), &[stored]);
                self.kept.push(c.name.clone());
            }
            // Tried again by the next build (its objects up to date).
            Err(e) => tracing::warn!("library store: keeping {}: {e:#}", c.name),
        }
    }

    /// For `-v`: what came from the store and what went into it.
    pub fn line(&self) -> Option<String> {
        if self.served.is_empty() && self.kept.is_empty() {
            return None;
        }
        let names = |mut v: Vec<&String>| match v.is_empty() {
            true => "none".to_string(),
            false => {
                v.sort();
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        Some(format!(
            "library store: {} served ({}), {} kept ({})",
            self.served.len(),
            names(self.served.iter().map(|(_, n)| n).collect()),
            self.kept.len(),
            names(self.kept.iter().collect()),
        ))
    }

    /// Copies `c`'s stored archive into the project (unless the one there
    /// already is it) when its entry holds.
    fn serve(&mut self, c: &Candidate, state: &mut BuildState) -> bool {
        let entry_dir = self.dir.join(&c.key);
        if !holds(&entry_dir) {
            return false;
        }
        let stored = entry_dir.join(ARCHIVE);
        let cmd = served_command(c);
        if state.dirty(&c.archive, &cmd).is_some() {
            // The entry replaced while copied: the copy is not recorded as
            // the new one (the group is built).
            let before = Stamp::of(&stored);
            let copied = c.archive.parent().map_or(Ok(()), std::fs::create_dir_all);
            let copied = copied.and_then(|()| link_store::copy_over(&stored, &c.archive));
            if copied.is_err() || Stamp::of(&stored) != before {
                return false;
            }
            state.record(&c.archive, &cmd, std::slice::from_ref(&stored));
        }
        mark_used(&entry_dir.join(ENTRY));
        self.served.push((c.group.clone(), c.name.clone()));
        true
    }

    /// Writes the entry; returns its archive.
    fn keep(&self, c: &Candidate, entry: &Entry) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let stage = self.dir.join(format!(".stage-{}", link_store::unique()));
        let staged = (|| -> Result<PathBuf> {
            std::fs::create_dir(&stage)?;
            let archive = stage.join(ARCHIVE);
            std::fs::copy(&c.archive, &archive)?;
            // (A handle that may write: Windows flushes no other.)
            std::fs::File::options()
                .write(true)
                .open(&archive)?
                .sync_all()?;
            let mut file = std::fs::File::create(stage.join(ENTRY))?;
            file.write_all(&serde_json::to_vec(entry)?)?;
            file.sync_all()?;
            let entry_dir = self.dir.join(&c.key);
            if entry_dir.exists() {
                // An entry whose inputs changed since: this one replaces it
                // (under the key's lock).
                let old = self.dir.join(format!(".old-{}", link_store::unique()));
                std::fs::rename(&entry_dir, &old)?;
                let _ = std::fs::remove_dir_all(&old);
            }
            std::fs::rename(&stage, &entry_dir)?;
            Ok(entry_dir.join(ARCHIVE))
        })();
        if staged.is_err() {
            let _ = std::fs::remove_dir_all(&stage);
        }
        staged
    }
}

/// How the project's state records an archive that is the store's.
fn served_command(c: &Candidate) -> [OsString; 2] {
    [
        OsString::from("fbuild-library-store"),
        OsString::from(&c.key),
    ]
}

/// Whether the entry in `dir` is whole and each file it was built from
/// stands as it did.
fn holds(dir: &Path) -> bool {
    let Ok(text) = std::fs::read(dir.join(ENTRY)) else {
        return false;
    };
    let Ok(entry) = serde_json::from_slice::<Entry>(&text) else {
        return false;
    };
    let stands = |(path, stamp): (&PathBuf, &Stamp)| Stamp::of(path).as_ref() == Some(stamp);
    let still = |(path, stamp): (&PathBuf, &Option<Stamp>)| Stamp::of(path) == *stamp;
    dir.join(ARCHIVE).is_file() && entry.inputs.iter().all(stands) && entry.dirs.iter().all(still)
}

/// The stamps of `search` folders and every folder under them (hidden
/// ones and those a source walk skips aside, 16 deep at most), and of each
/// input's folder, the project's aside; a search folder that is not there
/// as absent (one created later may hold a header found first). `None`
/// when one cannot be read.
fn folder_stamps<'a>(
    search: &[PathBuf],
    inputs: impl Iterator<Item = &'a PathBuf>,
    private: &dyn Fn(&Path) -> bool,
) -> Option<BTreeMap<PathBuf, Option<Stamp>>> {
    let mut todo: Vec<(PathBuf, usize)> = search.iter().map(|d| (d.clone(), 0)).collect();
    todo.extend(inputs.filter_map(|p| Some((p.parent()?.to_path_buf(), usize::MAX))));
    let mut out = BTreeMap::new();
    while let Some((dir, depth)) = todo.pop() {
        if private(&dir) || out.contains_key(&dir) {
            continue;
        }
        let stamp = Stamp::of(&dir);
        let walk = stamp.is_some() && depth < 16;
        out.insert(dir.clone(), stamp);
        if !walk {
            continue;
        }
        for entry in std::fs::read_dir(&dir).ok()? {
            let path = entry.ok()?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() && !name.starts_with('.') && !crate::files::SKIPPED.contains(&&*name) {
                todo.push((path, depth + 1));
            }
        }
    }
    Some(out)
}

/// Every input of `objects` as recorded, or `None` when one is not
/// recorded or was not settled.
fn inputs_of(objects: &[PathBuf], state: &BuildState) -> Option<BTreeMap<PathBuf, Stamp>> {
    let mut inputs = BTreeMap::new();
    for object in objects {
        let record = state.outputs.get(object)?;
        for (path, stamp) in &record.inputs {
            if *stamp == Stamp::UNSETTLED {
                return None;
            }
            inputs.insert(path.clone(), stamp.clone());
        }
    }
    Some(inputs)
}

/// The key's OS lock in `locks/` (dies with its holder); says so when
/// another build holds it.
fn lock(locks: &Path, c: &Candidate) -> Result<LockFile> {
    std::fs::create_dir_all(locks).with_context(|| format!("creating {}", locks.display()))?;
    let path = locks.join(format!("library-{}.lock", &c.key[..32]));
    let mut lock = LockFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
    if !lock.try_lock()? {
        report::say(
            Kind::Note,
            format!(
                "fbuild: another build is building {} for the library store; waiting for it",
                c.name
            ),
        );
        lock.lock()?;
    }
    Ok(lock)
}

/// Touches an entry served now, when its mark is older than a day (the
/// store is pruned by last use).
fn mark_used(entry: &Path) {
    let old = std::fs::metadata(entry)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > fbuild_core::time::LIBRARY_STORE_TOUCH);
    if old && let Ok(f) = std::fs::File::options().append(true).open(entry) {
        let _ = f.set_modified(SystemTime::now());
    }
}
