//! The plan decisions, with the tool seam's fake runner: which real tool a
//! shim name stands for, what is said when there is none, and the `-MP`
//! probe run once per compiler (counted on the fake).

use std::path::PathBuf;
use std::sync::Arc;

use fbuild_core::protocol::{ErrorKind, Plan, PlanRequest, Reply};
use fbuild_core::settings::{CacheKind, ZccacheMode};
use fbuild_core::tool::fake::Fake;

use super::*;
use crate::install::Installer;
use crate::test_support::{events, settings, tools_on_path};

fn planner(home: &std::path::Path, fake: &Arc<Fake>) -> Planner {
    let settings = settings(home);
    let installer = Installer::new();
    Planner::new(
        settings.home.clone(),
        Arc::new(ZccacheManager::new(
            settings.clone(),
            Arc::clone(&installer),
        )),
        Arc::new(SccacheManager::new(settings, installer)),
        Arc::new(WarnOnce::default()),
        Arc::clone(fake) as Arc<dyn Runner>,
    )
}

fn request(tool: &str, platform: &str, path: std::ffi::OsString) -> PlanRequest {
    PlanRequest {
        tool: tool.into(),
        platform: platform.into(),
        cwd: PathBuf::from("/"),
        path,
        shim_exe: PathBuf::new(),
        wants_phony_style: false,
        wants_color: false,
    }
}

async fn plan(planner: &Planner, req: PlanRequest) -> Result<Plan, (ErrorKind, String)> {
    match planner
        .plan(req, CacheKind::None, ZccacheMode::Off, &events())
        .await
    {
        Reply::Plan(plan) => Ok(plan),
        Reply::Error { kind, message } => Err((kind, message)),
        other => panic!("unexpected reply {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_name_is_its_platform_tool_found_past_the_shims() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new());
    let home = dir.path().join("home");
    let planner = planner(&home, &fake);
    // The home's shims come first on PATH, as users set it up.
    let shims = tools_on_path(&settings(&home).home.shims_dir(), &["gcc", "avr-gcc"]);
    let real = tools_on_path(&dir.path().join("bin"), &["gcc", "avr-gcc", "avr-g++"]);
    let path = std::env::join_paths([shims, real]).unwrap();
    let host = plan(&planner, request("gcc", "native", path.clone()))
        .await
        .unwrap();
    assert_eq!(host.real, dir.path().join("bin/gcc"));
    assert_eq!((host.zccache, host.warning), (None, None));
    // On atmelavr a `c++` shim is the platform's C++ compiler.
    let avr = plan(&planner, request("c++", "atmelavr", path))
        .await
        .unwrap();
    assert_eq!(avr.real, dir.path().join("bin/avr-g++"));
    assert_eq!(
        fake.calls().len(),
        0,
        "no probe without -MP through a cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_real_tool_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new());
    let planner = planner(&dir.path().join("home"), &fake);
    let empty = tools_on_path(&dir.path().join("empty"), &[]);
    let (kind, host) = plan(&planner, request("cc", "native", empty.clone()))
        .await
        .unwrap_err();
    assert_eq!(kind, ErrorKind::NoTool);
    assert!(host.contains("no real `cc` on PATH"), "{host}");
    assert!(!host.contains("FBUILD_PLATFORM"), "{host}");
    let (_, avr) = plan(&planner, request("cc", "atmelavr", empty.clone()))
        .await
        .unwrap_err();
    assert!(
        avr.contains("no real `avr-gcc`") && avr.contains("FBUILD_PLATFORM picks"),
        "{avr}"
    );
    let (_, other) = plan(&planner, request("cc", "esp32", empty.clone()))
        .await
        .unwrap_err();
    assert!(
        other.contains("unknown FBUILD_PLATFORM=\"esp32\""),
        "{other}"
    );
    let (_, make) = plan(&planner, request("make", "native", empty))
        .await
        .unwrap_err();
    assert!(
        make.contains("is not a compiler, archiver or linker name"),
        "{make}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phony_style_is_probed_once_per_compiler_and_a_probe_that_could_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    tools_on_path(
        &dir.path().join("bin"),
        &["gcc-9", "gcc-12", "broken", "gone"],
    );
    let fake = Arc::new(Fake::new());
    fake.when("gcc-9", 0, "probe.o: probe.c probe.h\n\nprobe.h:\n", "")
        .when("gcc-12", 0, "probe.o: probe.c probe.h\nprobe.h:\n", "")
        .when("broken", 1, "", "broken: cannot exec cc1");
    let planner = Arc::new(planner(&dir.path().join("home"), &fake));
    let bin = |name: &str| dir.path().join("bin").join(name);
    let asks: Vec<_> = (0..8)
        .map(|i| {
            let (planner, old) = (
                Arc::clone(&planner),
                bin(if i % 2 == 0 { "gcc-9" } else { "gcc-12" }),
            );
            tokio::spawn(async move { (i, planner.phony_style(&old).await) })
        })
        .collect();
    for ask in asks {
        let (i, blank_line) = ask.await.unwrap();
        assert_eq!(
            blank_line,
            i % 2 == 0,
            "GCC 9 writes a blank line, GCC 12 not"
        );
    }
    assert_eq!((fake.count("gcc-9"), fake.count("gcc-12")), (1, 1));
    // A compiler that answers the probe with an error has answered: GCC
    // 10's style, kept.
    assert!(!planner.phony_style(&bin("broken")).await);
    assert!(!planner.phony_style(&bin("broken")).await);
    assert_eq!(fake.count("broken"), 1);
    // One whose probe could not run: GCC 10's style for now, probed again
    // by the next request.
    assert!(!planner.phony_style(&bin("gone")).await);
    assert!(!planner.phony_style(&bin("gone")).await);
    assert_eq!(fake.count("gone"), 2);
}
