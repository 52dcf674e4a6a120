//! A randomized correctness test of incremental builds (issue 22): a
//! native project with a library (`lib/mylib`), headers, a library from
//! `lib_deps` and one slow C++ file goes through a few hundred random
//! steps — source, header and comment-only edits, files added, deleted,
//! renamed and moved between `src/` and `lib/`, `build_flags`,
//! `build_src_filter` and `lib_deps` changes, touches without change,
//! edits saved while a build runs — and after every build the program
//! is the program a from-scratch build of the same tree in another
//! directory makes.
//!
//! "The same program": the loadable bytes (`objcopy -O binary`) without
//! the build ID, which hashes the symbol table, where each source is named
//! by its absolute path.
//!
//! The seed is printed; `BUILD_PROPERTY_SEED=<n>` replays a run and
//! `BUILD_PROPERTY_STEPS=<n>` sets its length (default 220).

mod common;
#[path = "build_property/model.rs"]
mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;
use model::{Model, Rng, SLOW};

/// Writes `files` under `dir`, removing files of `before` that are gone
/// and leaving unchanged ones untouched.
fn sync(dir: &Path, before: &BTreeMap<String, String>, files: &BTreeMap<String, String>) {
    for path in before.keys().filter(|p| !files.contains_key(*p)) {
        std::fs::remove_file(dir.join(path)).unwrap();
    }
    for (path, text) in files {
        if before.get(path) != Some(text) {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
    }
}

/// The project's files and the ext library's.
type Trees = (BTreeMap<String, String>, BTreeMap<String, String>);

struct Run {
    home: TestHome,
    _work: tempfile::TempDir,
    project: PathBuf,
    scratch: PathBuf,
    ext: PathBuf,
    log: Vec<String>,
    seed: u64,
    /// The last from-scratch build: the tree and ext library it built, its
    /// program.
    last_scratch: Option<(Trees, Vec<u8>)>,
}

impl Run {
    fn fail(&self, what: &str) -> ! {
        let start = self.log.len().saturating_sub(25);
        panic!(
            "{what}\nseed {} (replay: BUILD_PROPERTY_SEED={} cargo nextest run --test build_property); \
             the last steps:\n{}",
            self.seed,
            self.seed,
            self.log[start..].join("\n")
        );
    }

    fn build_cmd(&self, dir: &Path) -> Command {
        let mut cmd = self
            .home
            .fbuild(&["build", dir.to_str().unwrap(), "-j", "2"]);
        cmd.env("FBUILD_ZCCACHE", "off");
        cmd
    }

    /// The program's loadable bytes without its build ID.
    fn program(&self, dir: &Path) -> Vec<u8> {
        let bin = dir.join(".fbuild/program.bin");
        let out = Command::new("objcopy")
            .args(["-O", "binary", "--remove-section=.note.gnu.build-id"])
            .arg(dir.join(".fbuild/build/native/program"))
            .arg(&bin)
            .output()
            .unwrap();
        if !out.status.success() {
            self.fail(&format!(
                "objcopy: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::read(bin).unwrap()
    }

    fn checked(&self, out: &Output, what: &str) {
        if !out.status.success() {
            self.fail(&format!(
                "{what} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }

    /// A build of the project, then the same tree built from nothing
    /// elsewhere: the same program.
    fn build_and_compare(&mut self, trees: &Trees) {
        let out = self.build_cmd(&self.project).output().unwrap();
        self.checked(&out, "the incremental build");
        let ours = self.program(&self.project);
        let expected = match &self.last_scratch {
            Some((built, program)) if built == trees => program.clone(),
            _ => {
                let _ = std::fs::remove_dir_all(&self.scratch);
                sync(&self.scratch, &BTreeMap::new(), &trees.0);
                let out = self.build_cmd(&self.scratch).output().unwrap();
                self.checked(&out, "the from-scratch build");
                let program = self.program(&self.scratch);
                self.last_scratch = Some((trees.clone(), program.clone()));
                program
            }
        };
        if ours != expected {
            let run = |dir: &Path| {
                let out = Command::new(dir.join(".fbuild/build/native/program"))
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            self.fail(&format!(
                "the incremental build's program differs from a build from nothing\n\
                 incremental prints:\n{}from nothing prints:\n{}",
                run(&self.project),
                run(&self.scratch)
            ));
        }
    }
}

/// Waits until `child` exits or a compiler of `source` has worked a
/// little; returns whether the compiler was seen.
fn compiler_seen(child: &mut Child, source: &Path) -> bool {
    let needle = source.to_string_lossy().into_owned();
    let mut seen = false;
    wait_for(Duration::from_secs(60), || {
        if child.try_wait().ok().flatten().is_some() {
            return true;
        }
        seen = std::fs::read_dir("/proc").unwrap().any(|e| {
            let Some(pid) = e
                .ok()
                .and_then(|e| e.file_name().to_str()?.parse::<u32>().ok())
            else {
                return false;
            };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let cmd = String::from_utf8_lossy(&cmd);
            if !cmd.contains("cc1plus") || !cmd.contains(&needle) {
                return false;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ticks: u64 = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
                .into_iter()
                .flatten()
                .filter_map(|t| t.parse::<u64>().ok())
                .sum();
            ticks >= 3
        });
        seen
    });
    seen
}

#[test]
fn incremental_builds_equal_builds_from_nothing() {
    let seed = std::env::var("BUILD_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let steps: usize = std::env::var("BUILD_PROPERTY_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(220);
    eprintln!("build_property: seed {seed} ({steps} steps)");
    let mut rng = Rng(seed);
    let work = tempfile::tempdir().unwrap();
    let mut run = Run {
        home: TestHome::new(),
        project: work.path().join("project"),
        scratch: work.path().join("scratch"),
        ext: work.path().join("ext"),
        _work: work,
        log: Vec::new(),
        seed,
        last_scratch: None,
    };
    let mut model = Model::new();
    let mut trees: Trees = Default::default();
    let apply = |model: &Model, trees: &mut Trees, run: &Run| {
        let files = model.files(&run.ext);
        sync(&run.project, &trees.0, &files);
        let ext = model.ext_files();
        sync(&run.ext, &trees.1, &ext);
        *trees = (files, ext);
    };
    apply(&model, &mut trees, &run);
    let (mut builds, mut during) = (0, 0);
    for step in 0..steps {
        match rng.below(100) {
            0..=29 => {
                run.log.push(format!("{step}: build"));
                run.build_and_compare(&trees);
                builds += 1;
            }
            30..=37 => {
                // Touched, not changed: a file written with its own text
                // (the ext library's files have no text keys).
                let (dir, files) = if rng.chance(80) {
                    (&run.project, &trees.0)
                } else {
                    (&run.ext, &trees.1)
                };
                let names: Vec<&String> = files.keys().collect();
                let path = names[rng.below(names.len())];
                std::fs::write(dir.join(path), &files[path]).unwrap();
                run.log
                    .push(format!("{step}: touch {}", dir.join(path).display()));
            }
            38..=45 => {
                // slow.cpp is out of date, its compile runs; another edit
                // is saved while it does.
                model.slow_value += 1;
                apply(&model, &mut trees, &run);
                let mut child = run
                    .build_cmd(&run.project)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let seen = compiler_seen(&mut child, &run.project.join(SLOW));
                let before = model.clone();
                let mut what = model.mutate(&mut rng);
                apply(&model, &mut trees, &run);
                let _ = child.wait();
                during += usize::from(seen);
                // Undone after the build: back to what it had started from.
                if rng.chance(40) {
                    model = before;
                    apply(&model, &mut trees, &run);
                    what.push_str(", undone after the build");
                }
                run.log.push(format!(
                    "{step}: edit slow.cpp, build, and while it runs ({}): {what}",
                    if seen {
                        "its compile seen"
                    } else {
                        "it ended first"
                    }
                ));
            }
            _ => {
                let what = model.mutate(&mut rng);
                apply(&model, &mut trees, &run);
                run.log.push(format!("{step}: {what}"));
            }
        }
    }
    run.log.push("end: build".into());
    run.build_and_compare(&trees);
    eprintln!(
        "build_property: {} builds compared, {during} edits saved during a compile",
        builds + 1
    );
    assert!(
        during > 0,
        "no edit landed during a compile in {steps} steps"
    );
}
