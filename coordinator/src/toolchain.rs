//! Platform toolchains and framework cores, owned by the coordinator.
//!
//! Sources, in order: a healthy system toolchain on the caller's PATH
//! (health check: it compiles and links an empty program for the board's
//! MCU) and the system Arduino core (Debian's arduino-core-avr); else the
//! platform's core and its compiler tool from the package index (built-in,
//! or `FBUILD_PACKAGE_INDEX`), installed by [`Cores`] through the gate. Health checks run
//! once per compiler and MCU (single flight: concurrent builds wait for the
//! one check) and are kept for the coordinator's life.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{CoreInstall, ErrorKind, Reply, Toolchain, ToolchainRequest};
use fbuild_core::resolve::find_real_tool;
use fbuild_core::stamp::FileStamp;
use fbuild_core::time::TOOLCHAIN_PROBE_TIMEOUT;
use fbuild_core::tool::{Runner, Tool};
use fbuild_platforms::PlatformData;
use tokio::sync::mpsc::UnboundedSender;

use crate::cores::Cores;
use crate::health_record::HealthRecord;
use crate::process::ProbeDir;
use crate::single_flight::Memo;

pub struct Toolchains {
    settings: Settings,
    cores: Arc<Cores>,
    /// Healthy answers kept across restarts.
    record: Arc<HealthRecord>,
    /// Runs the health checks (a fake in unit tests).
    runner: Arc<dyn Runner>,
    /// Health check results (Ok: C++ needs DECIMAL_DIG), by the compilers
    /// as they are now and the target flag; failures are not kept.
    health: Memo<HealthKey, Result<bool, String>>,
    /// Each compiler's library folders, for links through the cache.
    link_dirs: crate::link_key::LinkDirs,
    takes_colour: crate::colour::TakesColour,
}

/// What a health answer depends on: the C compiler's path, the target
/// flag, and both compilers' stamps (a replaced compiler is checked again).
type HealthKey = (PathBuf, String, Option<FileStamp>, Option<FileStamp>);

/// Tool file names of a platform: cc, c++, ar, objcopy, size.
type Names = [String; 5];

/// Why a toolchain request is refused, with the kind the client sees.
#[derive(Debug)]
struct Refusal {
    kind: ErrorKind,
    message: String,
}

impl Refusal {
    fn new(kind: ErrorKind, message: String) -> Refusal {
        Refusal { kind, message }
    }
}

/// The data of `platform`, or the refusal that names the known ones.
fn platform_data(platform: &str) -> Result<&'static PlatformData, Refusal> {
    fbuild_platforms::platform(platform).ok_or_else(|| {
        Refusal::new(
            ErrorKind::UnknownPlatform,
            format!(
                "unknown platform {platform:?}; known: {}",
                fbuild_platforms::platform_names().join(", ")
            ),
        )
    })
}

/// What a request looks for: the platform's tool names and the check.
struct Wanted {
    names: Names,
    /// The target flag of the health check (`-mmcu=atmega328p`).
    mcu_flag: Option<String>,
    /// A request without the MCU for a platform that checks per MCU only
    /// locates the tools and the core (the builder asks again with the
    /// board's MCU before compiling): no health check twice.
    locate_only: bool,
}

impl Wanted {
    fn of(data: &PlatformData, req: &ToolchainRequest) -> Wanted {
        let t = &data.toolchain;
        let asked: Option<Names> = req.tools.clone().try_into().ok();
        let names = asked.filter(|_| data.managed.is_none()).unwrap_or_else(|| {
            [
                t.cc.clone(),
                t.cxx.clone(),
                t.ar.clone(),
                t.objcopy.clone(),
                t.size.clone(),
            ]
        });
        Wanted {
            names,
            mcu_flag: t
                .mcu_flag
                .as_ref()
                .filter(|_| !req.mcu.is_empty())
                .map(|f| f.replace("{mcu}", &req.mcu)),
            locate_only: req.mcu.is_empty() && t.mcu_flag.is_some(),
        }
    }
}

/// A toolchain found: where from, cc/c++/ar, objcopy/size if present, and
/// whether C++ needs DECIMAL_DIG defined.
struct Found {
    source: String,
    tools: [PathBuf; 3],
    optional: [Option<PathBuf>; 2],
    dig: bool,
}

impl Toolchains {
    pub fn new(settings: Settings, cores: Arc<Cores>, runner: Arc<dyn Runner>) -> Self {
        Toolchains {
            runner,
            record: Arc::new(HealthRecord::new(
                settings.home.coordinator_dir().join("health.json"),
            )),
            settings,
            cores,
            health: Memo::default(),
            link_dirs: Default::default(),
            takes_colour: Default::default(),
        }
    }

    pub async fn resolve(
        &self,
        req: ToolchainRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        match self.resolve_inner(&req, events).await {
            Ok(tc) => Reply::Toolchain(tc),
            Err(Refusal { kind, message }) => Reply::Error { kind, message },
        }
    }

    /// The Arduino core of `platform` (see [`Request::PlatformCore`]).
    ///
    /// [`Request::PlatformCore`]: fbuild_core::protocol::Request::PlatformCore
    pub async fn platform_core(
        &self,
        platform: &str,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        let refuse = |Refusal { kind, message }| Reply::Error { kind, message };
        let data = match platform_data(platform) {
            Ok(data) => data,
            Err(refusal) => return refuse(refusal),
        };
        if data.core.is_none() {
            return refuse(Refusal::new(
                ErrorKind::NoTool,
                format!("platform {platform} has no Arduino core"),
            ));
        }
        match self.arduino_core(platform, data, events).await {
            Ok(dir) => Reply::Core(CoreInstall {
                dir,
                version: String::new(),
                tools: Vec::new(),
            }),
            Err(why) => refuse(Refusal::new(ErrorKind::InstallFailed, why)),
        }
    }

    async fn resolve_inner(
        &self,
        req: &ToolchainRequest,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<Toolchain, Refusal> {
        let data = platform_data(&req.platform)?;
        let wanted = Wanted::of(data, req);
        let found = match self.system(&wanted, req, data).await {
            Ok(found) => found,
            // No managed toolchain (the host's): what is wrong with the system's.
            Err(system) if data.managed.is_none() => return Err(system),
            Err(system) => self.managed(&wanted, req, data, events, system).await?,
        };
        let core_dir = match req.framework.as_deref() {
            None => None,
            Some("arduino") if data.core.is_some() => Some(
                self.arduino_core(&req.platform, data, events)
                    .await
                    .map_err(|why| Refusal::new(ErrorKind::InstallFailed, why))?,
            ),
            Some(other) => {
                return Err(Refusal::new(
                    ErrorKind::NoTool,
                    format!(
                        "framework {other:?} is not available for platform {}",
                        req.platform
                    ),
                ));
            }
        };
        let Found {
            source,
            tools: [cc, cxx, ar],
            optional: [objcopy, size],
            dig,
        } = found;
        let (link_dirs, color_flag) = match wanted.locate_only {
            true => (None, None),
            false => (
                self.link_dirs.of(&self.runner, &cc).await,
                self.takes_colour.flag(&self.runner, &cc).await,
            ),
        };
        Ok(Toolchain {
            color_flag,
            link_dirs: link_dirs.and_then(|d| std::env::join_paths(d).ok()),
            cc,
            cxx,
            ar,
            objcopy,
            size,
            core_dir,
            source,
            cxx_needs_decimal_dig: dig,
        })
    }

    /// The toolchain on the caller's PATH, checked (unless located only).
    async fn system(
        &self,
        wanted: &Wanted,
        req: &ToolchainRequest,
        data: &PlatformData,
    ) -> Result<Found, Refusal> {
        let shims = self.settings.home.shims_dir();
        let on_path = |name: &str| {
            find_real_tool(
                name,
                &req.path,
                Path::new("/"),
                std::slice::from_ref(&shims),
                None,
            )
        };
        let names = &wanted.names;
        let [Some(cc), Some(cxx), Some(ar), objcopy, size] = names.clone().map(|n| on_path(&n))
        else {
            return Err(Refusal::new(
                ErrorKind::NoTool,
                format!(
                    "no {} toolchain on PATH ({}, {}, {}; {})",
                    req.platform,
                    names[0],
                    names[1],
                    names[2],
                    missing_hint(data, req)
                ),
            ));
        };
        if wanted.locate_only {
            return Ok(Found {
                source: format!("system ({}), not checked without an MCU", cc.display()),
                tools: [cc, cxx, ar],
                optional: [objcopy, size],
                dig: false,
            });
        }
        match self.checked(&cc, &cxx, wanted.mcu_flag.as_deref()).await {
            Ok(dig) => Ok(Found {
                source: format!("system ({})", cc.display()),
                tools: [cc, cxx, ar],
                optional: [objcopy, size],
                dig,
            }),
            Err(why) => Err(Refusal::new(
                ErrorKind::Unhealthy,
                format!(
                    "the system toolchain {} is not healthy: {why}",
                    cc.display()
                ),
            )),
        }
    }

    /// The platform's managed toolchain (after the system's failed as
    /// `system` says), installed and checked.
    async fn managed(
        &self,
        wanted: &Wanted,
        req: &ToolchainRequest,
        data: &PlatformData,
        events: &UnboundedSender<InstallStatus>,
        system: Refusal,
    ) -> Result<Found, Refusal> {
        let (name, dir) = self
            .managed_toolchain(&req.platform, data, events)
            .await
            .map_err(|why| {
                Refusal::new(
                    ErrorKind::InstallFailed,
                    format!(
                        "{}; the managed toolchain is unavailable too: {why}",
                        system.message
                    ),
                )
            })?;
        let bin = dir.join("bin");
        let tool = |i: usize| bin.join(&wanted.names[i]);
        let dig = self
            .checked(&tool(0), &tool(1), wanted.mcu_flag.as_deref())
            .await
            .map_err(|why| {
                Refusal::new(
                    ErrorKind::Unhealthy,
                    format!("the managed {name} is not healthy: {why}"),
                )
            })?;
        let exists = |p: PathBuf| p.is_file().then_some(p);
        Ok(Found {
            source: format!("managed ({})", dir.display()),
            tools: [tool(0), tool(1), tool(2)],
            optional: [exists(tool(3)), exists(tool(4))],
            dig,
        })
    }

    /// The platform's Arduino core as a system package installs it, else
    /// the managed one (both named by the platform's data).
    async fn arduino_core(
        &self,
        platform: &str,
        data: &PlatformData,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<PathBuf, String> {
        let system = data.system_core.as_ref();
        if let Some(sys) = system
            && Path::new(&sys.dir).join("platform.txt").is_file()
        {
            return Ok(PathBuf::from(&sys.dir));
        }
        let (Some(core), Some(_)) = (data.core.as_deref(), data.managed.as_ref()) else {
            return Err(format!(
                "platform {platform} has no Arduino core to install"
            ));
        };
        self.cores
            .platform_only(self.settings.package_index.as_deref(), core, events)
            .await
            .map_err(|why| match system {
                Some(sys) => format!(
                    "no Arduino core at {} (Debian: apt-get install {}), and the managed one is \
                     unavailable: {why}",
                    sys.dir, sys.debian_package
                ),
                None => format!("the managed Arduino core is unavailable: {why}"),
            })
    }

    /// The platform's managed compiler (a tool of its core in the package
    /// index): its name and version, and its folder.
    async fn managed_toolchain(
        &self,
        platform: &str,
        data: &PlatformData,
        events: &UnboundedSender<InstallStatus>,
    ) -> Result<(String, PathBuf), String> {
        let (Some(core), Some(managed)) = (data.core.as_deref(), data.managed.as_ref()) else {
            return Err(format!("platform {platform} names no managed toolchain"));
        };
        let tool = self
            .cores
            .platform_tool(
                self.settings.package_index.as_deref(),
                core,
                &managed.toolchain,
                events,
            )
            .await?;
        Ok((format!("{} {}", tool.name, tool.version), tool.dir))
    }

    /// Health of (cc, target flag): checked once, whoever asks, while the
    /// compilers stay as they are; a failed check is checked again by the
    /// next request.
    async fn checked(&self, cc: &Path, cxx: &Path, mcu_flag: Option<&str>) -> Result<bool, String> {
        let key = (
            cc.to_path_buf(),
            mcu_flag.unwrap_or_default().to_string(),
            FileStamp::of(cc),
            FileStamp::of(cxx),
        );
        let (cc, cxx, mcu) = (
            cc.to_path_buf(),
            cxx.to_path_buf(),
            mcu_flag.map(str::to_string),
        );
        let record = Arc::clone(&self.record);
        let runner = Arc::clone(&self.runner);
        self.health
            .get_or_try_run(&key, || async move {
                tokio::task::spawn_blocking(move || {
                    let flag = mcu.as_deref().unwrap_or_default();
                    if let Some(dig) = record.recall(&cc, &cxx, flag) {
                        return Ok(dig);
                    }
                    let result = health_check(&*runner, &cc, &cxx, mcu.as_deref());
                    if let Ok(dig) = result {
                        record.keep(&cc, &cxx, flag, dig);
                    }
                    result
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            })
            .await
    }
}

/// What to do about a missing toolchain: the board's compiler menu named
/// the tools, or the platform's data says how to install its own.
fn missing_hint(data: &PlatformData, req: &ToolchainRequest) -> String {
    let t = &data.toolchain;
    let defaults = [&t.cc, &t.cxx, &t.ar, &t.objcopy, &t.size];
    let asked_others = !req.tools.is_empty() && req.tools.iter().ne(defaults);
    if asked_others && data.managed.is_none() {
        return "the board's compiler option names these tools: put their folder on PATH"
            .to_string();
    }
    data.tools_hint.clone().unwrap_or_else(|| {
        format!(
            "on Debian: apt-get install {}",
            data.debian_packages.as_deref().unwrap_or("build-essential")
        )
    })
}

/// Compiles and links an empty program for the target `mcu_flag` names
/// (the platform's data, e.g. `-mmcu=atmega328p`) and, side by side (a
/// first build waits for this), checks whether C++ sees `DECIMAL_DIG` in
/// `<float.h>`. Ok(true): C++ needs the define.
fn health_check(
    runner: &dyn Runner,
    cc: &Path,
    cxx: &Path,
    mcu_flag: Option<&str>,
) -> Result<bool, String> {
    tracing::info!(compiler = %cc.display(), target = mcu_flag.unwrap_or("default"), "probe: toolchain health");
    let dir = ProbeDir::new(&[
        ("empty.c", "int main(void) { return 0; }\n"),
        ("dig.cpp", "#include <float.h>\nint digits = DECIMAL_DIG;\n"),
    ])?;
    let mcu_flag: Vec<&str> = mcu_flag.into_iter().collect();
    // The target flag first, as the compiler was always asked.
    let run = |program: &Path, args: &[&str]| {
        let tool = Tool::new(program)
            .args(&mcu_flag)
            .args(args)
            .current_dir(dir.path());
        runner
            .output(&tool, TOOLCHAIN_PROBE_TIMEOUT)
            .map_err(|e| e.to_string())
    };
    let (out, dig) = std::thread::scope(|s| {
        let dig = s.spawn(|| run(cxx, &["-std=gnu++11", "-c", "dig.cpp", "-o", "dig.o"]));
        let out = run(cc, &["-Os", "empty.c", "-o", "empty.elf"]);
        let dig = dig
            .join()
            .unwrap_or_else(|_| Err("the C++ probe panicked".to_string()));
        (out, dig)
    });
    let out = out?;
    if !out.status.success() {
        let target = mcu_flag
            .first()
            .map(|f| format!(" with {f}"))
            .unwrap_or_default();
        return Err(format!(
            "it cannot build an empty program{target}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(!dig?.status.success())
}

#[cfg(test)]
#[path = "toolchain_tests.rs"]
mod tests;
