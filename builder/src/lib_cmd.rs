//! `fbuild lib list` and `fbuild lib update`: a project's resolved
//! libraries per environment, as a tree, and re-resolving them (rewriting
//! `fbuild.lock`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use fbuild_client::Client;

use crate::libs::{self, LockMode, lockfile::Locked};
use crate::report::{self, Kind};

/// Resolves (`update`: afresh) and prints each selected env's libraries.
pub fn run(project_dir: &Path, envs: &[String], update: bool) -> Result<(), crate::BuildError> {
    let project = crate::load(project_dir)?;
    let selected = project.select(envs)?;
    let client = Client::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let _lock = crate::lock::ProjectLock::acquire(&project.build_dir)?;
    let mode = if update {
        LockMode::Update
    } else {
        LockMode::Use
    };
    for env in selected {
        let out_dir = project.build_dir.join(&env.name);
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        runtime.block_on(async {
            let target = crate::target::resolve(&client, env, &project.root, &out_dir).await?;
            libs::for_env(&client, &project, env, &target, mode).await
        })?;
        let lock = libs::lockfile::LockFile::load(&project.root).map_err(anyhow::Error::msg)?;
        let entry = lock.and_then(|l| l.environments.get(&env.name).cloned());
        report::say(Kind::Listing, format!("[env:{}]", env.name));
        match entry {
            Some(e) if !e.libraries.is_empty() => print_tree(&e.libraries, &e.lib_deps),
            _ => report::say(Kind::Listing, "  (no lib_deps)"),
        }
    }
    Ok(())
}

/// `lib_deps` entries at the top, each library's dependencies below it.
fn print_tree(libs: &[Locked], lib_deps: &[String]) {
    let by_name: BTreeMap<String, &Locked> =
        libs.iter().map(|l| (l.name.to_lowercase(), l)).collect();
    for l in libs
        .iter()
        .filter(|l| l.required_by.iter().any(|r| lib_deps.contains(r)))
    {
        print_one(l, &by_name, 1, &mut Vec::new());
    }
}

fn print_one(l: &Locked, all: &BTreeMap<String, &Locked>, depth: usize, path: &mut Vec<String>) {
    let mut line = format!("{}{}", "  ".repeat(depth), l.name);
    if let Some(v) = &l.version {
        line.push_str(&format!(" {v}"));
    }
    let from = match (l.source.as_str(), &l.owner, &l.url, &l.path) {
        ("registry", Some(owner), _, _) => format!("registry {owner}/{}", l.name),
        ("git", _, Some(url), _) => format!(
            "git {url}#{} ({})",
            l.reference.as_deref().unwrap_or("HEAD"),
            l.commit
                .as_deref()
                .map(|c| &c[..c.len().min(12)])
                .unwrap_or("?")
        ),
        ("path", _, _, Some(p)) => format!("path {}", p.display()),
        (source, _, Some(url), _) => format!("{source} {url}"),
        (source, ..) => source.to_string(),
    };
    report::say(Kind::Listing, format!("{line}  [{from}]"));
    if path.contains(&l.name) {
        return;
    }
    path.push(l.name.clone());
    for d in &l.dependencies {
        if let Some(child) = all.get(&d.to_lowercase()) {
            print_one(child, all, depth + 1, path);
        }
    }
    path.pop();
}
