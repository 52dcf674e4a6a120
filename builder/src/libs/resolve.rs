//! Resolving `lib_deps` to library folders: registry specs through the
//! coordinator's indexes (highest version that satisfies every range seen;
//! a range that excludes the chosen version restarts resolution with it
//! known, and a conflict no version satisfies names both requirers), URLs
//! and git repositories into the store, paths in place, each library's own
//! dependencies (its manifest) after it. Or, from a lock: every pinned
//! library fetched (or found in the store) by its pin, no index asked.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use fbuild_client::{Client, RequestError};
use fbuild_core::protocol::{
    ErrorKind, LibraryIndex, LibraryInstall, LibraryQuery, LibraryRelease,
};

use super::lockfile::Locked;
use super::manifest::{self, Manifest};
use super::spec::{Dep, Source};
use super::version::{Range, parse_version};

/// A library folder for the build, and how the lock pins it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub locked: Locked,
    pub dir: PathBuf,
}

/// What resolution needs to know of the build.
pub struct Context<'a> {
    pub client: &'a Client,
    pub root: &'a Path,
    pub platform: &'a str,
    pub registry: LibraryIndex,
    pub arduino: LibraryIndex,
    /// Libraries present without fetching (the core's, `lib/`,
    /// `lib_extra_dirs`), by lowercase name: a dependency on one of them
    /// (`depends=Wire`) is satisfied by it.
    pub local: BTreeMap<String, PathBuf>,
    /// Versions the old lock chose, preferred while they still fit.
    pub prefer: HashMap<String, String>,
}

/// A requirement seen on the way: range and who asked.
type Seen = Vec<(Range, String)>;

enum Failed {
    /// Start again knowing this range for this library.
    Retry(String, Range, String),
    Fatal(anyhow::Error),
}

impl From<anyhow::Error> for Failed {
    fn from(e: anyhow::Error) -> Self {
        Failed::Fatal(e)
    }
}

pub async fn resolve(cx: &Context<'_>, deps: &[Dep]) -> Result<Vec<Resolved>> {
    let mut known: HashMap<String, Seen> = HashMap::new();
    let mut releases = HashMap::new();
    for _ in 0..8 {
        match attempt(cx, deps, &known, &mut releases).await {
            Ok(out) => return Ok(out),
            Err(Failed::Retry(name, range, by)) => known.entry(name).or_default().push((range, by)),
            Err(Failed::Fatal(e)) => return Err(e),
        }
    }
    bail!("library versions did not settle after 8 rounds; pin versions in lib_deps")
}

/// One pass over the dependency graph, breadth first.
async fn attempt(
    cx: &Context<'_>,
    deps: &[Dep],
    known: &HashMap<String, Seen>,
    memo: &mut HashMap<String, Vec<LibraryRelease>>,
) -> Result<Vec<Resolved>, Failed> {
    let mut queue: VecDeque<(Dep, String)> =
        deps.iter().map(|d| (d.clone(), d.text.clone())).collect();
    let mut chosen: Vec<(Resolved, Seen)> = Vec::new();
    while let Some((dep, by)) = queue.pop_front() {
        let key = dep.known_name().map(str::to_lowercase);
        if let Some(i) = key.as_ref().and_then(|k| position(&chosen, k)) {
            check_again(cx, &dep, &by, &mut chosen[i], known, memo).await?;
            continue;
        }
        let (resolved, manifest, range) = fetch(cx, &dep, &by, known, memo).await?;
        let lower = resolved.locked.name.to_lowercase();
        if let Some(i) = position(&chosen, &lower) {
            // A URL that turned out to be a library already chosen.
            chosen[i].0.locked.required_by.push(by);
            continue;
        }
        let requirer = match &resolved.locked.version {
            Some(v) => format!("{}@{v}", resolved.locked.name),
            None => resolved.locked.name.clone(),
        };
        for d in wanted_deps(cx, &manifest, &resolved.dir)? {
            queue.push_back((d, requirer.clone()));
        }
        chosen.push((
            resolved,
            range.into_iter().map(|r| (r, by.clone())).collect(),
        ));
    }
    Ok(chosen.into_iter().map(|(r, _)| r).collect())
}

fn position(chosen: &[(Resolved, Seen)], lower: &str) -> Option<usize> {
    chosen
        .iter()
        .position(|(r, _)| r.locked.name.to_lowercase() == lower)
}

/// `dep` names a library already chosen: its range must fit the choice.
async fn check_again(
    cx: &Context<'_>,
    dep: &Dep,
    by: &str,
    (resolved, seen): &mut (Resolved, Seen),
    known: &HashMap<String, Seen>,
    memo: &mut HashMap<String, Vec<LibraryRelease>>,
) -> Result<(), Failed> {
    resolved.locked.required_by.push(by.to_string());
    let Source::Registry { range, owner, name } = &dep.source else {
        return Ok(());
    };
    let version = resolved.locked.version.as_deref().and_then(parse_version);
    let fits = version.as_ref().is_none_or(|v| range.matches(v));
    let from_index = matches!(
        resolved.locked.source.as_str(),
        "registry" | "arduino-index"
    );
    if fits || !from_index {
        seen.push((range.clone(), by.to_string()));
        return Ok(());
    }
    let lower = name.to_lowercase();
    let mut all: Seen = seen.clone();
    all.extend(known.get(&lower).cloned().unwrap_or_default());
    all.push((range.clone(), by.to_string()));
    let releases = versions(cx, owner.as_deref(), name, memo).await?;
    if best(&releases, &all, None).is_some() {
        return Err(Failed::Retry(lower, range.clone(), by.to_string()));
    }
    Err(Failed::Fatal(conflict(name, &all)))
}

fn conflict(name: &str, all: &Seen) -> anyhow::Error {
    let who: Vec<String> = all
        .iter()
        .map(|(r, by)| format!("{by} requires {name} {}", r.text))
        .collect();
    anyhow!(
        "library version conflict: {}; no version of {name} satisfies all of them. \
         Change one of the ranges (or pin one version in lib_deps).",
        who.join(", ")
    )
}

/// Gets the library `dep` names into the store (or finds it in place).
async fn fetch(
    cx: &Context<'_>,
    dep: &Dep,
    by: &str,
    known: &HashMap<String, Seen>,
    memo: &mut HashMap<String, Vec<LibraryRelease>>,
) -> Result<(Resolved, Manifest, Option<Range>), Failed> {
    let mut locked = Locked {
        name: dep.known_name().unwrap_or_default().to_string(),
        version: None,
        source: String::new(),
        owner: None,
        url: None,
        reference: None,
        commit: None,
        sha256: None,
        path: None,
        dependencies: Vec::new(),
        required_by: vec![by.to_string()],
    };
    let mut range_out = None;
    let dir = match &dep.source {
        Source::Registry { owner, name, range } => {
            if owner.is_none()
                && let Some(dir) = cx.local.get(&name.to_lowercase())
            {
                locked.source = "builtin".into();
                dir.clone()
            } else {
                range_out = Some(range.clone());
                let want = (owner.as_deref(), name.as_str(), range);
                from_index(cx, want, by, known, memo, &mut locked).await?
            }
        }
        Source::Git { url, reference } => {
            locked.source = "git".into();
            locked.url = Some(url.clone());
            locked.reference = reference.clone();
            let install = LibraryInstall {
                label: url_label(url),
                version: reference.clone().unwrap_or_else(|| "HEAD".into()),
                url: url.clone(),
                git_ref: Some(reference.clone().unwrap_or_else(|| "HEAD".into())),
                sha256: None,
            };
            store(cx, install, &mut locked).await?
        }
        Source::Archive { url } => {
            locked.source = "archive".into();
            locked.url = Some(url.clone());
            let install = LibraryInstall {
                label: url_label(url),
                version: "url".into(),
                url: url.clone(),
                git_ref: None,
                sha256: None,
            };
            store(cx, install, &mut locked).await?
        }
        Source::Path { path } => {
            if !path.is_dir() {
                return Err(Failed::Fatal(anyhow!(
                    "lib_deps entry {:?}: {} is not a folder",
                    dep.text,
                    path.display()
                )));
            }
            locked.source = "path".into();
            locked.path = Some(path.strip_prefix(cx.root).unwrap_or(path).to_path_buf());
            path.clone()
        }
    };
    let m = manifest::read(&dir).map_err(|e| anyhow!(e))?;
    if locked.name.is_empty() || matches!(locked.source.as_str(), "git" | "archive" | "path") {
        locked.name = dep.name.clone().unwrap_or_else(|| m.name.clone());
    }
    if locked.version.is_none() {
        locked.version = m.version.clone();
    }
    locked.dependencies = m.deps.iter().map(|d| d.name.clone()).collect();
    Ok((Resolved { locked, dir }, m, range_out))
}

/// The newest release of `owner/name` every range seen accepts, from its
/// index into the store; `locked` says which.
async fn from_index(
    cx: &Context<'_>,
    (owner, name, range): (Option<&str>, &str, &Range),
    by: &str,
    known: &HashMap<String, Seen>,
    memo: &mut HashMap<String, Vec<LibraryRelease>>,
    locked: &mut Locked,
) -> Result<PathBuf, Failed> {
    let lower = name.to_lowercase();
    let mut all: Seen = known.get(&lower).cloned().unwrap_or_default();
    all.push((range.clone(), by.to_string()));
    let releases = versions(cx, owner, name, memo).await?;
    let Some(pick) = best(&releases, &all, cx.prefer.get(&lower)) else {
        return Err(Failed::Fatal(no_version(name, &all, &releases)));
    };
    locked.name = pick.name.clone();
    locked.owner = pick.owner.clone();
    locked.version = Some(pick.version.clone());
    locked.source = if owner.is_some() {
        "registry"
    } else {
        "arduino-index"
    }
    .into();
    locked.url = Some(pick.url.clone());
    let install = LibraryInstall {
        label: pick.name.clone(),
        version: pick.version.clone(),
        url: pick.url.clone(),
        git_ref: None,
        sha256: pick.sha256.clone(),
    };
    Ok(store(cx, install, locked).await?)
}

/// Installs into the store; records sha256 and commit in `locked`.
pub(super) async fn store(
    cx: &Context<'_>,
    install: LibraryInstall,
    locked: &mut Locked,
) -> Result<PathBuf> {
    let what = install.url.clone();
    // Stored and as pinned: no coordinator round trip.
    if let Some(got) = install.stored(&cx.client.settings().home.libraries_dir()) {
        locked.sha256 = Some(got.sha256);
        locked.commit = got.commit;
        return Ok(got.dir);
    }
    match crate::ask::ask(cx.client, |c, on| c.install_library(install, on)).await {
        Ok(got) => {
            locked.sha256 = Some(got.sha256);
            locked.commit = got.commit;
            Ok(got.dir)
        }
        Err(RequestError::Refused { message, .. }) => bail!("library {what}: {message}"),
        Err(machinery) => Err(anyhow::Error::new(machinery).context("asking the coordinator")),
    }
}

/// Every version of `name` in the registry (`owner` set) or Arduino index.
async fn versions(
    cx: &Context<'_>,
    owner: Option<&str>,
    name: &str,
    memo: &mut HashMap<String, Vec<LibraryRelease>>,
) -> Result<Vec<LibraryRelease>, Failed> {
    let key = format!("{}/{}", owner.unwrap_or(""), name.to_lowercase());
    if let Some(r) = memo.get(&key) {
        return Ok(r.clone());
    }
    let index = if owner.is_some() {
        &cx.registry
    } else {
        &cx.arduino
    };
    let query = LibraryQuery {
        index: index.clone(),
        owner: owner.map(str::to_string),
        name: name.to_string(),
    };
    let asked = crate::ask::ask(cx.client, |c, on| c.library_versions(query, on)).await;
    let releases = match asked {
        Ok(releases) => releases,
        Err(RequestError::Refused {
            kind: ErrorKind::UnknownPackage,
            message,
        }) => return Err(Failed::Fatal(anyhow!("unknown library: {message}"))),
        Err(RequestError::Refused { message, .. }) => return Err(Failed::Fatal(anyhow!(message))),
        Err(machinery) => {
            return Err(Failed::Fatal(
                anyhow::Error::new(machinery).context("asking the coordinator"),
            ));
        }
    };
    memo.insert(key, releases.clone());
    Ok(releases)
}

/// The highest release every range accepts (the preferred one if it does).
fn best<'r>(
    releases: &'r [LibraryRelease],
    all: &Seen,
    prefer: Option<&String>,
) -> Option<&'r LibraryRelease> {
    let fits = |r: &&LibraryRelease| {
        parse_version(&r.version).is_some_and(|v| all.iter().all(|(range, _)| range.matches(&v)))
    };
    if let Some(p) = prefer
        && let Some(r) = releases.iter().filter(fits).find(|r| &r.version == p)
    {
        return Some(r);
    }
    releases
        .iter()
        .filter(fits)
        .max_by_key(|r| parse_version(&r.version))
}

fn no_version(name: &str, all: &Seen, releases: &[LibraryRelease]) -> anyhow::Error {
    if all.len() > 1 {
        return conflict(name, all);
    }
    let mut have: Vec<&str> = releases.iter().map(|r| r.version.as_str()).collect();
    have.sort_by_key(|v| parse_version(v));
    anyhow!(
        "{} requires {name} {}, but the index has only {}",
        all[0].1,
        all[0].0.text,
        have.join(", ")
    )
}

/// The library's manifest dependencies that apply to this build, as deps.
fn wanted_deps(cx: &Context<'_>, m: &Manifest, dir: &Path) -> Result<Vec<Dep>, Failed> {
    let mut out = Vec::new();
    for d in &m.deps {
        if !d.platforms.is_empty() && !d.platforms.iter().any(|p| p == "*" || p == cx.platform) {
            continue;
        }
        let range = Range::parse(&d.range)
            .map_err(|e| anyhow!("{}: dependency {}: {e}", dir.display(), d.name))?;
        let who = match &d.owner {
            Some(o) => format!("{o}/{}", d.name),
            None => d.name.clone(),
        };
        out.push(Dep {
            text: format!("{who} @ {}", range.text),
            name: None,
            source: Source::Registry {
                owner: d.owner.clone(),
                name: d.name.clone(),
                range,
            },
        });
    }
    Ok(out)
}

/// `https://h/x/Lib.git` → `Lib`; `…/Lib-1.0.zip` → `Lib-1.0`.
pub(super) fn url_label(url: &str) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("lib");
    let mut label = last.to_string();
    for ext in [".git", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2"] {
        if let Some(s) = label.strip_suffix(ext) {
            label = s.to_string();
        }
    }
    label
}
