//! The toolchain decisions, with the tool seam's fake runner: which tools
//! are looked for, how often their health is checked (counted on the fake,
//! not read from a log), what is remembered and what is said.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fbuild_core::protocol::{ErrorKind, Reply, Toolchain, ToolchainRequest};
use fbuild_core::tool::fake::{Fake, exited};

use super::*;
use crate::test_support::{events, settings, tools_on_path};

const HOST_TOOLS: &[&str] = &["cc", "c++", "ar", "objcopy", "size"];
const AVR_TOOLS: &[&str] = &[
    "avr-gcc",
    "avr-g++",
    "avr-gcc-ar",
    "avr-objcopy",
    "avr-size",
];

/// Toolchains of a private home whose checks `fake` answers.
fn toolchains(home: &Path, fake: &Arc<Fake>) -> Toolchains {
    let settings = settings(home);
    let cores = Arc::new(Cores::new(
        settings.clone(),
        crate::install::Installer::new(),
    ));
    Toolchains::new(settings, cores, Arc::clone(fake) as Arc<dyn Runner>)
}

/// A fake where every compile succeeds (`dig.cpp` as `dig_ok` says).
fn healthy(dig_ok: bool) -> Arc<Fake> {
    let fake = Arc::new(Fake::new());
    fake.when(
        "dig.cpp",
        if dig_ok { 0 } else { 1 },
        "",
        "DECIMAL_DIG undeclared",
    )
    .when("empty.c", 0, "", "");
    fake
}

fn request(platform: &str, mcu: &str, path: std::ffi::OsString) -> ToolchainRequest {
    ToolchainRequest {
        platform: platform.into(),
        mcu: mcu.into(),
        framework: None,
        path,
        tools: Vec::new(),
    }
}

async fn resolve(tc: &Toolchains, req: ToolchainRequest) -> Result<Toolchain, String> {
    resolve_kind(tc, req).await.map_err(|(_, message)| message)
}

async fn resolve_kind(
    tc: &Toolchains,
    req: ToolchainRequest,
) -> Result<Toolchain, (ErrorKind, String)> {
    match tc.resolve(req, &events()).await {
        Reply::Toolchain(t) => Ok(t),
        Reply::Error { kind, message } => Err((kind, message)),
        other => panic!("unexpected reply {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_for_one_toolchain_check_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = tools_on_path(&dir.path().join("bin"), HOST_TOOLS);
    let fake = healthy(true);
    let tc = Arc::new(toolchains(&dir.path().join("home"), &fake));
    let asks: Vec<_> = (0..8)
        .map(|_| {
            let (tc, path) = (Arc::clone(&tc), path.clone());
            tokio::spawn(async move { resolve(&tc, request("native", "", path)).await })
        })
        .collect();
    for ask in asks {
        let t = ask.await.unwrap().unwrap();
        assert_eq!(t.cc, dir.path().join("bin/cc"));
        assert_eq!(t.size, Some(dir.path().join("bin/size")));
        assert!(!t.cxx_needs_decimal_dig);
    }
    assert_eq!((fake.count("empty.c"), fake.count("dig.cpp")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cxx_without_decimal_dig_gets_the_define() {
    let dir = tempfile::tempdir().unwrap();
    let path = tools_on_path(&dir.path().join("bin"), HOST_TOOLS);
    let fake = healthy(false);
    let tc = toolchains(&dir.path().join("home"), &fake);
    let t = resolve(&tc, request("native", "", path)).await.unwrap();
    assert!(t.cxx_needs_decimal_dig);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_compiler_is_named_and_checked_again_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = tools_on_path(&dir.path().join("bin"), HOST_TOOLS);
    let broken = Arc::new(AtomicBool::new(true));
    let fake = Arc::new(Fake::new());
    let now_broken = Arc::clone(&broken);
    fake.on(
        |t| t.line().contains("empty.c"),
        move |_| match now_broken.load(Ordering::SeqCst) {
            true => Ok(exited(1, "", "cc: internal compiler error")),
            false => Ok(exited(0, "", "")),
        },
    )
    .when("dig.cpp", 0, "", "");
    let tc = toolchains(&dir.path().join("home"), &fake);
    let (kind, err) = resolve_kind(&tc, request("native", "", path.clone()))
        .await
        .unwrap_err();
    assert_eq!(kind, ErrorKind::Unhealthy);
    assert!(
        err.contains("is not healthy")
            && err.contains("internal compiler error")
            && err.contains(&dir.path().join("bin/cc").display().to_string()),
        "{err}"
    );
    broken.store(false, Ordering::SeqCst);
    assert!(resolve(&tc, request("native", "", path)).await.is_ok());
    assert_eq!(fake.count("empty.c"), 2, "a failure is not remembered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_answer_outlives_the_coordinator_until_the_compiler_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = tools_on_path(&dir.path().join("bin"), HOST_TOOLS);
    let home = dir.path().join("home");
    let first = healthy(true);
    resolve(
        &toolchains(&home, &first),
        request("native", "", path.clone()),
    )
    .await
    .unwrap();
    // A new coordinator on the same home: answered from the record.
    let second = healthy(true);
    resolve(
        &toolchains(&home, &second),
        request("native", "", path.clone()),
    )
    .await
    .unwrap();
    assert_eq!(second.count("empty.c") + second.count("dig.cpp"), 0);
    // The compiler replaced (another size): checked again.
    std::fs::write(dir.path().join("bin/cc"), "#!/bin/sh\nexit 98\n# new\n").unwrap();
    let third = healthy(true);
    resolve(&toolchains(&home, &third), request("native", "", path))
        .await
        .unwrap();
    assert_eq!(third.count("empty.c"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_toolchain_is_checked_for_its_mcu_and_only_located_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = tools_on_path(&dir.path().join("bin"), AVR_TOOLS);
    let fake = healthy(true);
    let tc = toolchains(&dir.path().join("home"), &fake);
    let located = resolve(&tc, request("atmelavr", "", path.clone()))
        .await
        .unwrap();
    assert!(located.source.contains("not checked without an MCU"));
    assert_eq!(fake.calls().len(), 0);
    let checked = resolve(&tc, request("atmelavr", "atmega328p", path))
        .await
        .unwrap();
    assert_eq!(checked.cc, dir.path().join("bin/avr-gcc"));
    // The health checks (the library folders' probe aside).
    let calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|t| t.line().contains("empty.c") || t.line().contains("dig.cpp"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(
        calls.iter().all(|t| t.line().contains("-mmcu=atmega328p")),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_board_names_its_tools_a_managed_platform_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = ["tcc", "tcc", "tiny_libmaker", "objcopy", "size"];
    let path = tools_on_path(&dir.path().join("bin"), &["tcc", "tiny_libmaker"]);
    let fake = healthy(true);
    let tc = toolchains(&dir.path().join("home"), &fake);
    let mut req = request("native", "", path.clone());
    req.tools = tiny.map(String::from).to_vec();
    let t = resolve(&tc, req).await.unwrap();
    assert_eq!(t.cc, dir.path().join("bin/tcc"));
    assert_eq!(t.ar, dir.path().join("bin/tiny_libmaker"));
    assert_eq!((t.objcopy, t.size), (None, None));
    assert!(fake.calls().iter().all(|c| c.line().contains("tcc")));
    // Without the names the host's default tools are looked for.
    let err = resolve(&tc, request("native", "", path.clone()))
        .await
        .unwrap_err();
    assert!(err.contains("no native toolchain"), "{err}");
    // A platform with a managed toolchain: its data's names, not the board's.
    let mut avr = request("atmelavr", "", path);
    avr.tools = tiny.map(String::from).to_vec();
    let data = fbuild_platforms::platform("atmelavr").unwrap();
    assert_eq!(Wanted::of(data, &avr).names[0], "avr-gcc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tools_and_unknown_platforms_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let fake = healthy(true);
    let tc = toolchains(&dir.path().join("home"), &fake);
    let empty = tools_on_path(&dir.path().join("empty"), &[]);
    let err = resolve(&tc, request("native", "", empty))
        .await
        .unwrap_err();
    assert!(
        err.contains("no native toolchain on PATH") && err.contains("build-essential"),
        "{err}"
    );
    let (kind, err) = resolve_kind(&tc, request("esp32", "", "".into()))
        .await
        .unwrap_err();
    assert_eq!(kind, ErrorKind::UnknownPlatform);
    assert!(
        err.contains("unknown platform \"esp32\"") && err.contains("atmelavr"),
        "{err}"
    );
    assert_eq!(fake.calls().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_core_is_its_own_request() {
    let dir = tempfile::tempdir().unwrap();
    let fake = healthy(true);
    let tc = toolchains(&dir.path().join("home"), &fake);
    let refused = |reply: Reply| match reply {
        Reply::Error { kind, message } => (kind, message),
        other => panic!("unexpected reply {other:?}"),
    };
    let (kind, message) = refused(tc.platform_core("esp32", &events()).await);
    assert_eq!(kind, ErrorKind::UnknownPlatform, "{message}");
    let (kind, message) = refused(tc.platform_core("native", &events()).await);
    assert_eq!(kind, ErrorKind::NoTool);
    assert!(message.contains("has no Arduino core"), "{message}");
    assert_eq!(fake.calls().len(), 0, "finding a core checks no compiler");
}
