//! One `lib_deps` entry, read as PlatformIO reads it: a registry spec
//! (`owner/Name @ ^1.2.3`, `Name @ 1.2.3`, `Name`), a git URL
//! (`https://…/x.git`, `git+https://…`, `git+file://…`, a GitHub/GitLab
//! repository page, with `#tag`, `#branch` or `#commit`), an archive URL
//! (`.zip`, `.tar.gz`, `.tgz`, `.tar.bz2`), `file://` (archive or folder),
//! `symlink://` and local paths; `Name=<source>` names the library.

use std::path::{Path, PathBuf};

use super::version::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `owner` set: PlatformIO's registry; else the Arduino index.
    Registry {
        owner: Option<String>,
        name: String,
        range: Range,
    },
    Git {
        url: String,
        reference: Option<String>,
    },
    Archive {
        url: String,
    },
    /// A library folder used in place (`symlink://`, `file://` folder, path).
    Path {
        path: PathBuf,
    },
}

/// An entry as written, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub text: String,
    /// `Name=` in front of a URL or path.
    pub name: Option<String>,
    pub source: Source,
}

impl Dep {
    /// The library's name if the entry says it.
    pub fn known_name(&self) -> Option<&str> {
        match &self.source {
            Source::Registry { name, .. } => Some(name),
            _ => self.name.as_deref(),
        }
    }
}

/// Reads one entry; relative paths are against `root` (the project).
pub fn parse(text: &str, root: &Path) -> Result<Dep, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty lib_deps entry".into());
    }
    let (name, rest) = match t.split_once('=') {
        Some((n, r)) if is_name(n.trim()) && looks_like_location(r.trim()) => {
            (Some(n.trim().to_string()), r.trim())
        }
        _ => (None, t),
    };
    let source = if looks_like_location(rest) || root.join(rest).is_dir() {
        location(rest, root)?
    } else {
        registry(rest)?
    };
    Ok(Dep {
        text: t.to_string(),
        name,
        source,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_-. ".contains(c))
}

fn looks_like_location(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git@")
        || s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('~')
}

fn location(s: &str, root: &Path) -> Result<Source, String> {
    if let Some(p) = s.strip_prefix("symlink://") {
        return Ok(Source::Path {
            path: local(p, root),
        });
    }
    if let Some(rest) = s.strip_prefix("git+") {
        let (url, reference) = split_ref(rest);
        return git(s, url, reference);
    }
    if let Some(p) = s.strip_prefix("file://") {
        let path = local(p, root);
        if path.is_dir() {
            return Ok(Source::Path { path });
        }
        return Ok(Source::Archive {
            url: format!("file://{}", path.display()),
        });
    }
    if !s.contains("://") && !s.starts_with("git@") {
        return Ok(Source::Path {
            path: local(s, root),
        });
    }
    let (url, reference) = split_ref(s);
    let path = url.split(['?']).next().unwrap_or(&url).to_lowercase();
    if [".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2"]
        .iter()
        .any(|e| path.ends_with(e))
    {
        if reference.is_some() {
            return Err(format!("{s}: an archive URL takes no #ref"));
        }
        return Ok(Source::Archive { url });
    }
    if path.ends_with(".git")
        || s.starts_with("git@")
        || s.starts_with("ssh://")
        || is_repo_page(&path)
    {
        return git(s, url, reference);
    }
    Ok(Source::Archive { url })
}

/// A git source; its `#ref` must read as a tag, branch or commit name (a
/// ref starting with `-` was passed to git as an option: `#--orphan=zz`).
fn git(s: &str, url: String, reference: Option<String>) -> Result<Source, String> {
    if let Some(r) = &reference
        && !fbuild_core::library_wire::is_git_ref(r)
    {
        return Err(format!(
            "{s}: #{r} is not a tag, branch or commit name (it must not start with '-' or hold \
             spaces or control characters)"
        ));
    }
    Ok(Source::Git { url, reference })
}

/// `https://github.com/owner/repo`: a repository, cloned with git.
fn is_repo_page(url: &str) -> bool {
    ["github.com/", "gitlab.com/", "bitbucket.org/"]
        .iter()
        .any(|host| {
            url.split_once(host)
                .is_some_and(|(_, p)| p.trim_end_matches('/').split('/').count() == 2)
        })
}

fn split_ref(s: &str) -> (String, Option<String>) {
    match s.split_once('#') {
        Some((url, r)) if !r.is_empty() => (url.to_string(), Some(r.to_string())),
        Some((url, _)) => (url.to_string(), None),
        None => (s.to_string(), None),
    }
}

fn local(p: &str, root: &Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    root.join(p)
}

/// `owner/Name @ range`, `Name@range`, `Name`.
fn registry(s: &str) -> Result<Source, String> {
    let (who, range) = match s.split_once('@') {
        Some((w, r)) => (w.trim(), Range::parse(r).map_err(|e| format!("{s}: {e}"))?),
        None => (s.trim(), Range::any()),
    };
    let (owner, name) = match who.split_once('/') {
        Some((o, n)) => (Some(o.trim().to_string()), n.trim().to_string()),
        None => (None, who.to_string()),
    };
    if !is_name(&name) || owner.as_deref().is_some_and(|o| !is_name(o)) {
        return Err(format!(
            "{s:?} is not a library spec: write owner/Name @ ^1.2.3, Name @ 1.2.3, a git or archive URL, or a path"
        ));
    }
    Ok(Source::Registry { owner, name, range })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platformio_forms() {
        let root = Path::new("/p");
        let src = |s| parse(s, root).unwrap().source;
        match src("bblanchon/ArduinoJson @ ^6.21.3") {
            Source::Registry { owner, name, range } => {
                assert_eq!(
                    (owner.as_deref(), name.as_str()),
                    (Some("bblanchon"), "ArduinoJson")
                );
                assert_eq!(range.text, "^6.21.3");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(src("Servo"), Source::Registry { owner: None, .. }));
        assert_eq!(
            src("https://github.com/x/Lib.git#v1.0"),
            Source::Git {
                url: "https://github.com/x/Lib.git".into(),
                reference: Some("v1.0".into())
            }
        );
        assert!(matches!(
            src("https://github.com/x/Lib"),
            Source::Git { .. }
        ));
        assert!(matches!(
            src("git+file:///srv/lib#main"),
            Source::Git { .. }
        ));
        assert!(matches!(
            src("https://h/x/Lib-1.0.zip"),
            Source::Archive { .. }
        ));
        assert_eq!(
            src("symlink:///opt/lib"),
            Source::Path {
                path: "/opt/lib".into()
            }
        );
        assert_eq!(
            src("../shared/Lib"),
            Source::Path {
                path: "/p/../shared/Lib".into()
            }
        );
        let named = parse("Foo=https://h/a.tar.gz", root).unwrap();
        assert_eq!(named.known_name(), Some("Foo"));
        assert!(parse("what is this?", root).is_err());
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// `examples/lib-deps` names one library of each kind (resolving them
    /// needs the public indexes; `tests/lib_deps.rs` does the same against
    /// loopback ones).
    #[test]
    fn the_example_names_each_kind_of_source() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lib-deps");
        let project = crate::project::Project::load(&root).unwrap();
        let deps: Vec<Source> = project.envs["uno"]
            .lib_deps
            .iter()
            .map(|d| parse(d, &root).unwrap().source)
            .collect();
        assert!(matches!(&deps[0], Source::Registry { owner: Some(o), .. } if o == "bblanchon"));
        assert!(matches!(&deps[1], Source::Registry { owner: None, name, .. } if name == "Servo"));
        assert!(matches!(&deps[2], Source::Git { reference: Some(r), .. } if r == "1.16.1"));
        assert!(matches!(&deps[3], Source::Path { path } if path.is_dir()));
    }
}
