//! Platform toolchains and framework cores, owned by the coordinator.
//!
//! Sources, in order: a healthy system toolchain on the caller's PATH (health
//! check: it compiles and links an empty program for the board's MCU) and
//! the system Arduino core (Debian's arduino-core-avr). Results are cached
//! per compiler and MCU for the coordinator's life.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use fbuild_core::protocol::{ErrorKind, Reply, Toolchain, ToolchainRequest};
use fbuild_core::resolve::find_real_tool;

use crate::process::output_with_timeout;
use crate::state::State;

/// Where Debian's arduino-core-avr puts the Arduino AVR core.
const SYSTEM_ARDUINO_AVR: &str = "/usr/share/arduino/hardware/arduino/avr";

#[derive(Default)]
pub struct ToolchainMemory {
    /// (compiler, mcu) → health check result.
    checked: Mutex<HashMap<(PathBuf, String), Result<bool, String>>>,
}

pub async fn resolve(state: &State, req: ToolchainRequest) -> Reply {
    let no_tool = |message: String| Reply::Error {
        kind: ErrorKind::NoTool,
        message,
    };
    let names = match req.platform.as_str() {
        "native" => ["cc", "c++", "ar", "objcopy", "size"].map(String::from),
        other => match fbuild_platforms::platform(other) {
            Some(p) => {
                let t = &p.toolchain;
                [
                    t.cc.clone(),
                    t.cxx.clone(),
                    t.ar.clone(),
                    t.objcopy.clone(),
                    t.size.clone(),
                ]
            }
            None => {
                return no_tool(format!(
                    "unknown platform {other:?}; known: atmelavr, native"
                ));
            }
        },
    };
    let shims = state.settings.home.shims_dir();
    let find = |name: &str| {
        find_real_tool(
            name,
            OsStr::new(&req.path),
            Path::new("/"),
            std::slice::from_ref(&shims),
            None,
        )
    };
    let (Some(cc), Some(cxx), Some(ar)) = (find(&names[0]), find(&names[1]), find(&names[2]))
    else {
        return no_tool(format!(
            "no {} toolchain on PATH ({}, {}, {}); on Debian: apt-get install {}",
            req.platform,
            names[0],
            names[1],
            names[2],
            if req.platform == "atmelavr" {
                "gcc-avr binutils-avr avr-libc"
            } else {
                "build-essential"
            }
        ));
    };
    let key = (cc.clone(), req.mcu.clone());
    let cached = state
        .toolchains
        .checked
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let checked = match cached {
        Some(c) => c,
        None => {
            let (cc2, cxx2, mcu) = (cc.clone(), cxx.clone(), req.mcu.clone());
            let result = tokio::task::spawn_blocking(move || health_check(&cc2, &cxx2, &mcu))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            state
                .toolchains
                .checked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, result.clone());
            result
        }
    };
    let needs_decimal_dig = match checked {
        Ok(flag) => flag,
        Err(why) => {
            return no_tool(format!(
                "the system toolchain {} is not healthy: {why}",
                cc.display()
            ));
        }
    };
    let core_dir = match req.framework.as_deref() {
        None => None,
        Some("arduino") if req.platform == "atmelavr" => {
            if !Path::new(SYSTEM_ARDUINO_AVR)
                .join("cores/arduino/Arduino.h")
                .is_file()
            {
                return no_tool(format!(
                    "no Arduino AVR core at {SYSTEM_ARDUINO_AVR}; on Debian: apt-get install arduino-core-avr"
                ));
            }
            Some(SYSTEM_ARDUINO_AVR.to_string())
        }
        Some(other) => {
            return no_tool(format!(
                "framework {other:?} is not available for platform {}",
                req.platform
            ));
        }
    };
    Reply::Toolchain(Toolchain {
        cc: cc.display().to_string(),
        cxx: cxx.display().to_string(),
        ar: ar.display().to_string(),
        objcopy: find(&names[3]).map(|p| p.display().to_string()),
        size: find(&names[4]).map(|p| p.display().to_string()),
        core_dir,
        source: format!("system ({})", cc.display()),
        cxx_needs_decimal_dig: needs_decimal_dig,
    })
}

/// Compiles and links an empty program for `mcu`; then checks whether C++
/// sees `DECIMAL_DIG` in `<float.h>`. Ok(true): C++ needs the define.
fn health_check(cc: &Path, cxx: &Path, mcu: &str) -> Result<bool, String> {
    let dir = std::env::temp_dir().join(format!(
        "fbuild-tc-probe-{}-{}",
        std::process::id(),
        nanos()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = (|| {
        std::fs::write(dir.join("empty.c"), "int main(void) { return 0; }\n")
            .map_err(|e| e.to_string())?;
        std::fs::write(
            dir.join("dig.cpp"),
            "#include <float.h>\nint digits = DECIMAL_DIG;\n",
        )
        .map_err(|e| e.to_string())?;
        let mcu_flag: Vec<String> = if mcu.is_empty() {
            vec![]
        } else {
            vec![format!("-mmcu={mcu}")]
        };
        let run = |cmd: &mut Command| {
            output_with_timeout(cmd.current_dir(&dir), std::time::Duration::from_secs(30))
        };
        let out =
            run(Command::new(cc)
                .args(&mcu_flag)
                .args(["-Os", "empty.c", "-o", "empty.elf"]))?;
        if !out.status.success() {
            return Err(format!(
                "it cannot build an empty program{}: {}",
                if mcu.is_empty() {
                    String::new()
                } else {
                    format!(" for {mcu}")
                },
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let dig = run(Command::new(cxx).args(&mcu_flag).args([
            "-std=gnu++11",
            "-c",
            "dig.cpp",
            "-o",
            "dig.o",
        ]))?;
        Ok(!dig.status.success())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
