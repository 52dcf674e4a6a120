//! The house's shape, checked: no module of any crate uses a module that
//! uses it back (directly or through others), no source file grows past
//! the size where it should be split, and each fact has one owner: tools
//! are started only by the tool seam (`core/src/tool/`), durations are
//! named only in `core/src/time.rs`, `native` is known only to the
//! platform type (`core/src/platform.rs`), and no library crate's public
//! API answers with a bare `String` error.

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
    "tester",
    ".",
];

/// The library crates: all but the root package, which holds the
/// binaries' entry points.
fn libraries() -> impl Iterator<Item = &'static str> {
    CRATES.iter().copied().filter(|krate| *krate != ".")
}

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

/// A source file's text with its unit tests (`#[cfg(test)] mod tests {…}`,
/// `#[cfg(all(test, unix))] mod tests {…}`) blanked, lines kept, since
/// tests may do as tests do.
fn without_tests(text: &str) -> String {
    // `cfg(test)` or `cfg(all(…, test, …))`: not `cfg(not(test))` nor
    // `cfg(any(test, …))`, which also build outside tests.
    let tests = regex::Regex::new(
        r"#\[cfg\((?:test|all\((?:[^()\]]*,\s*)?test\s*(?:,[^\]]*)?\))\)\]\s*mod [a-z_0-9]+\s*\{",
    )
    .unwrap();
    let mut out = text.to_string();
    while let Some(m) = tests.find(&out) {
        let end = block_end(&out, m.end() - 1);
        let blank: String = out[m.start()..end]
            .chars()
            .map(|c| if c == '\n' { c } else { ' ' })
            .collect();
        out.replace_range(m.start()..end, &blank);
    }
    out
}

/// The byte after the `}` that closes the `{` at `open` (string and char
/// literals and line comments skipped).
fn block_end(text: &str, open: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, open);
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Every `(file, line number, line)` of the crates' sources (tests aside)
/// that matches `pattern`, but for files under `owners` (relative to the
/// workspace root).
fn lines_matching(krates: &[&str], pattern: &str, owners: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pattern = regex::Regex::new(pattern).unwrap();
    let mut files = Vec::new();
    for krate in krates {
        rust_files(&root.join(krate).join("src"), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let rel = rel.trim_start_matches("./").to_string();
        // `#[path = "x_tests.rs"] mod tests;` files are unit tests.
        if owners.iter().any(|o| rel.starts_with(o)) || rel.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in without_tests(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if pattern.is_match(code) {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn tools_are_started_only_by_the_tool_seam() {
    // `Command::new` by any path, or `Command` renamed on import.
    let found = lines_matching(
        CRATES,
        r"\bCommand::new\b|\bCommand\s+as\s+[A-Za-z_]",
        &["core/src/tool/"],
    );
    assert!(
        found.is_empty(),
        "start tools through fbuild_core::tool (its environment rules, time limits and \
         failure reports, and the fake unit tests use):\n{}",
        found.join("\n")
    );
}

#[test]
fn durations_are_named_in_time_rs() {
    let found = lines_matching(
        CRATES,
        r"Duration::(from_(secs|millis|micros|nanos|secs_f32|secs_f64)|new)\(\s*[0-9]",
        &["core/src/time.rs"],
    );
    assert!(
        found.is_empty(),
        "name these durations in core/src/time.rs, with the reason for their value:\n{}",
        found.join("\n")
    );
}

#[test]
fn native_is_known_only_to_the_platform_type() {
    let found = lines_matching(
        CRATES,
        r#"(==|!=)\s*"native"|"native"\s*(==|!=|=>|\|)|\|\s*"native"|matches!\([^)]*"native"|Some\("native"\)|\.eq\("native"\)|let\s+"native""#,
        &["core/src/platform.rs"],
    );
    assert!(
        found.is_empty(),
        "ask fbuild_core::platform::Platform instead of comparing with \"native\":\n{}",
        found.join("\n")
    );
}

/// The source files of `krate`'s public modules: `lib.rs` and every module
/// reached from it through `pub mod` declarations, or whose items a public
/// module re-exports (`pub use spec::{…}` of a private `mod spec`).
fn public_files(krate: &Path) -> Vec<PathBuf> {
    let declared =
        regex::Regex::new(r"(?m)^pub mod ([a-z_0-9]+);|^pub use (?:self::)?([a-z_0-9]+)::")
            .unwrap();
    let mut todo = vec![(krate.join("src/lib.rs"), krate.join("src"))];
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some((file, dir)) = todo.pop() {
        if files.contains(&file) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for c in declared.captures_iter(&text) {
            let c = match c.get(1).or_else(|| c.get(2)) {
                Some(name) if !["crate", "super", "std"].contains(&name.as_str()) => {
                    [c.get(0).unwrap().as_str(), name.as_str()]
                }
                _ => continue,
            };
            let flat = dir.join(format!("{}.rs", &c[1]));
            let nested = dir.join(c[1]).join("mod.rs");
            let child = if flat.is_file() { flat } else { nested };
            todo.push((child, dir.join(c[1])));
        }
        files.push(file);
    }
    files
}

#[test]
fn library_apis_answer_with_typed_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let signature = regex::Regex::new(
        r"(?m)^\s*pub (?:async )?fn [a-z_0-9]+[^{;]*?Result<[^{;]*,\s*String>\s*(?:\{|where|;)",
    )
    .unwrap();
    let mut found = Vec::new();
    for krate in libraries() {
        for file in public_files(&root.join(krate)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let text = without_tests(&text);
            for m in signature.find_iter(&text) {
                let line = text[..m.start()].lines().count() + 1;
                let head = m.as_str().trim().lines().next().unwrap_or_default();
                found.push(format!("{}:{line}: {head}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a library's public function answers with an error type that says what \
         went wrong (thiserror), not a String:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_builder_library_never_prints() {
    let found = lines_matching(
        &["builder"],
        r"\be?print(ln)?!\(|std::io::std(out|err)\(\)\.(lock|write)",
        &["builder/src/report.rs"],
    );
    assert!(
        found.is_empty(),
        "the builder says things through builder::report (the driver decides where they go):\n{}",
        found.join("\n")
    );
}
