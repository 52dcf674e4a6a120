//! The house's shape, checked: no module of any crate uses a module that
//! uses it back (directly or through others), and no source file grows
//! past the size where it should be split.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &[
    "core",
    "client",
    "coordinator",
    "shim",
    "platforms",
    "deploy",
    "builder",
    ".",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name() != Some("bin".as_ref()) {
                rust_files(&path, out);
            }
        } else if path.extension() == Some("rs".as_ref()) {
            out.push(path);
        }
    }
}

/// `a::b` for `src/a/b.rs` or `src/a/b/mod.rs`; `` for lib.rs/main.rs.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// Which modules of its crate each module refers to (test modules aside).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            (module_of(src, f), text)
        })
        .collect();
    let reference =
        regex::Regex::new(r"\b(crate|super)::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)").unwrap();
    let grouped =
        regex::Regex::new(r"(?m)^\s*(?:pub(?:\([a-z]+\))? )?use (crate|super)::\{([^}]*)\}")
            .unwrap();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &texts {
        let base = |kind: &str| -> Vec<String> {
            let mut parts: Vec<String> = if module.is_empty() {
                vec![]
            } else {
                module.split("::").map(str::to_string).collect()
            };
            if kind == "crate" {
                parts.clear();
            } else {
                parts.pop();
            }
            parts
        };
        let mut add = |parts: Vec<String>| {
            for k in (1..=parts.len()).rev() {
                let cand = parts[..k].join("::");
                if texts.contains_key(&cand)
                    && cand != *module
                    && !module.starts_with(&format!("{cand}::"))
                {
                    edges.entry(module.clone()).or_default().insert(cand);
                    return;
                }
            }
        };
        for c in reference.captures_iter(text) {
            let mut parts = base(&c[1]);
            parts.extend(c[2].split("::").map(str::to_string));
            add(parts);
        }
        for c in grouped.captures_iter(text) {
            for item in c[2].split(',') {
                let first = item.trim().split("::").next().unwrap_or("").to_string();
                let mut parts = base(&c[1]);
                parts.push(first);
                add(parts);
            }
        }
    }
    edges
}

fn cycle_through(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for krate in CRATES {
        let edges = graph(&root.join(krate).join("src"));
        for module in edges.keys() {
            if let Some(cycle) = cycle_through(&edges, module) {
                cycles.push(format!("{krate}: {}", cycle.join(" → ")));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_source_file_passes_the_split_size() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for krate in CRATES {
        rust_files(&root.join(krate).join("src"), &mut files);
    }
    rust_files(&root.join("tests"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by responsibility:\n{}",
        long.join("\n")
    );
}
