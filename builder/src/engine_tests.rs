//! Scheduling, with real processes: `sh` scripts stand in for compilers
//! (one that writes its object and depfile, one that fails), so the tests
//! see what ran, what was recorded and what was never started.

use std::path::{Path, PathBuf};

use super::*;
use crate::files::Lang;
use crate::runner::CacheRoute;
use crate::sources::Group;

/// A compiler: `sh -c <script> <source> <object>` writes the object and a
/// depfile naming the source and `dep.h`, and logs its source in `log`;
/// sources named `bad*` fail with exit 3.
fn compiler_script(dir: &Path) -> String {
    format!(
        "echo \"$0\" >> '{log}'; case \"$0\" in *bad*) echo \"$0: error\" >&2; exit 3;; esac; \
         echo obj > \"$1\"; printf '%s: %s %s\\n' \"$1\" \"$0\" '{dep}' > \"${{1%.o}}.d\"",
        log = dir.join("log").display(),
        dep = dir.join("dep.h").display()
    )
}

/// Writes `text` to `file`, dated a minute ago: a file saved just before a
/// build shares its clock tick and is (rightly) compiled again next time.
fn write_old(file: &Path, text: &str) {
    std::fs::write(file, text).unwrap();
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(minute_ago)
        .unwrap();
}

fn runner(dir: &Path) -> Runner {
    Runner {
        route: CacheRoute::default(),
        cwd: dir.to_path_buf(),
        verbose: false,
        cache_failed: Default::default(),
        to_report: Default::default(),
        env: "test".into(),
        counts: Default::default(),
        response_files: true,
        colour: None,
        link_store: None,
    }
}

fn jobs(dir: &Path, names: &[&str]) -> Vec<Job> {
    names
        .iter()
        .map(|name| {
            let source = dir.join(format!("{name}.c"));
            if !source.exists() {
                write_old(&source, &format!("/* {name} */\n"));
            }
            let object = dir.join("out").join(format!("{name}.o"));
            Job {
                name: name.to_string(),
                unit: Unit {
                    source: source.clone(),
                    object: object.clone(),
                    lang: Lang::C,
                    group: Group::Project,
                    flags: Vec::new(),
                },
                compiler: PathBuf::from("sh"),
                compiler_stamp: String::new(),
                args: vec![
                    "-c".into(),
                    compiler_script(dir).into(),
                    source.into(),
                    object.into(),
                ],
            }
        })
        .collect()
}

/// Runs `names` as one build; the outcome and the sources compiled.
async fn build(
    dir: &Path,
    state: &mut BuildState,
    names: &[&str],
    jobs_at_once: usize,
    keep_going: bool,
) -> (Outcome, Vec<String>) {
    let _ = std::fs::remove_file(dir.join("log"));
    std::fs::create_dir_all(dir.join("out")).unwrap();
    if !dir.join("dep.h").exists() {
        write_old(&dir.join("dep.h"), "");
    }
    let schedule = Schedule {
        jobs: jobs_at_once,
        keep_going,
        clock: &dir.join("out/.fbuild-clock"),
        shadowed: &[],
    };
    let progress = CompileProgress::new("test", false);
    let outcome = compile_all(
        &runner(dir),
        jobs(dir, names),
        state,
        &schedule,
        &progress,
        || {},
    )
    .await
    .unwrap();
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let ran = log
        .lines()
        .map(|l| {
            Path::new(l)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    (outcome, ran)
}

fn done(outcome: &Outcome) -> (usize, usize) {
    match outcome {
        Outcome::Done {
            compiled,
            up_to_date,
        } => (*compiled, *up_to_date),
        Outcome::Failed(code) => panic!("failed with {code}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_up_to_date_runs_nothing_and_a_changed_input_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = BuildState::default();
    let (outcome, ran) = build(dir.path(), &mut state, &["a", "b", "c"], 2, false).await;
    assert_eq!((done(&outcome), ran.len()), ((3, 0), 3));
    let (outcome, ran) = build(dir.path(), &mut state, &["a", "b", "c"], 2, false).await;
    assert_eq!((done(&outcome), ran), ((0, 3), Vec::<String>::new()));
    // A header from the depfile changed: every object that read it.
    write_old(&dir.path().join("dep.h"), "int changed;\n");
    let (outcome, ran) = build(dir.path(), &mut state, &["a", "b", "c"], 2, false).await;
    assert_eq!((done(&outcome), ran.len()), ((3, 0), 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_failure_starts_no_new_compile() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = BuildState::default();
    let names = ["bad", "a", "b", "c", "d"];
    let (outcome, ran) = build(dir.path(), &mut state, &names, 1, false).await;
    assert!(matches!(outcome, Outcome::Failed(3)));
    assert_eq!(ran, ["bad"], "one at a time: nothing after the failure");
    assert!(state.outputs.is_empty(), "a failed build records nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_going_compiles_the_rest_and_remembers_what_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = BuildState::default();
    let names = ["bad1", "a", "bad2", "b"];
    let (outcome, ran) = build(dir.path(), &mut state, &names, 2, true).await;
    assert!(matches!(outcome, Outcome::Failed(3)));
    assert_eq!(ran.len(), 4);
    // The next build compiles only what failed.
    let (_, again) = build(dir.path(), &mut state, &names, 2, true).await;
    let mut again = again;
    again.sort();
    assert_eq!(again, ["bad1", "bad2"]);
}
