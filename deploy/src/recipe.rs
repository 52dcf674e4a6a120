//! The upload as the core describes it (Arduino platform specification):
//! the board's `upload.tool` names a tool whose `tools.<tool>.*` properties
//! (its `upload.pattern`, `cmd.path`, `config.path`, params) are laid over
//! the board's; fbuild sets `serial.port`, the quiet/verify params and the
//! speed, then expands and splits the pattern. Nothing here knows avrdude:
//! a core that names another tool gets that tool, and the file it sends is
//! the build output its pattern names (`{build.path}/{build.project_name}.hex`,
//! `.bin`, …). With an `upload_protocol` naming one of the core's
//! programmers (`programmers.txt`, kept by the build under
//! `programmers.<id>.*`), the programmer's properties go on top and its
//! `program.tool`'s `program.pattern` runs instead (arduino-cli's upload
//! with `--programmer`); `upload_flags` go after the pattern's arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use fbuild_platforms::arduino::{PlatformError, Properties};

/// What to run to flash the board, and how to get it ready first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    pub tool: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// `upload.protocol` and `upload.speed`, for the message.
    pub protocol: String,
    pub speed: String,
    /// `upload.use_1200bps_touch`: reset into the bootloader first.
    pub touch_1200bps: bool,
    /// `upload.wait_for_upload_port`: the bootloader comes back as a new port.
    pub wait_for_upload_port: bool,
    /// Whether the tool talks to a serial port (a bootloader, a serial
    /// programmer); a USB programmer (`usbasp`) needs none.
    pub needs_port: bool,
    /// False when `upload_speed` was given and nothing of the recipe or
    /// the flags takes it (said to the user: PlatformIO would add `-b`).
    pub speed_taken: bool,
}

/// PlatformIO's options of an upload.
#[derive(Debug, Clone, Copy, Default)]
pub struct UploadOptions<'a> {
    /// `upload_speed`: over the board's `upload.speed`.
    pub speed: Option<u32>,
    /// `upload_protocol`: the board's own (its bootloader), or a programmer
    /// of the core by id (`usbasp`) or by its protocol (`stk500v1`).
    pub protocol: Option<&'a str>,
    /// `upload_flags`: after the pattern's arguments, with PlatformIO's
    /// `$UPLOAD_PORT`, `$UPLOAD_SPEED` and `$UPLOAD_PROTOCOL` replaced.
    pub flags: &'a [String],
}

/// PlatformIO's variables in `upload_flags` fbuild replaces.
const FLAG_VARIABLES: &[&str] = &["UPLOAD_PORT", "UPLOAD_SPEED", "UPLOAD_PROTOCOL"];

/// `flag` with `$NAME` and `${NAME}` of [`FLAG_VARIABLES`] replaced by
/// `value(NAME)`; another `$NAME` is an error naming it.
fn expand(flag: &str, value: &dyn Fn(&str) -> String) -> Result<String, PlatformError> {
    let mut out = String::new();
    let mut rest = flag;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => {
                let end = inner.find('}').unwrap_or(inner.len());
                (&inner[..end], end + 2)
            }
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if !FLAG_VARIABLES.contains(&name) {
            return Err(PlatformError::Invalid {
                key: "upload_flags".into(),
                message: format!(
                    "{flag:?} uses ${name}, a PlatformIO (SCons) variable fbuild does not \
                     know; it replaces {}",
                    FLAG_VARIABLES
                        .iter()
                        .map(|v| format!("${v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        out.push_str(&value(name));
        rest = &after[len.min(after.len())..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The upload of the board `props` to `port` (see the module's words).
pub fn upload_plan(
    props: &Properties,
    port: &str,
    options: &UploadOptions,
) -> Result<UploadPlan, PlatformError> {
    let programmer = match options.protocol {
        Some(wanted) if Some(wanted) != props.get("upload.protocol") => {
            Some(programmer(props, wanted)?)
        }
        _ => None,
    };
    // arduino-cli's two actions: the bootloader's `upload`, a programmer's
    // `program`.
    let action = match programmer {
        Some(_) => "program",
        None => "upload",
    };
    let mut p = props.clone();
    if let Some(id) = &programmer {
        p.merge(&props.subtree(&format!("programmers.{id}")));
    }
    let tool_key = format!("{action}.tool");
    let tool_ref = p
        .get(&tool_key)
        .or_else(|| p.get(&format!("{tool_key}.default")))
        .ok_or(PlatformError::Missing { key: tool_key })?;
    // `vendor:tool` (newer cores) names the same tool.
    let tool = tool_ref.rsplit(':').next().unwrap_or(tool_ref).to_string();
    p.merge(&p.subtree(&format!("tools.{tool}")));
    // arduino-cli's `serial.port.file`: the port without `/dev/`
    // (`ttyACM0`, `pts/3`, `serial/by-id/…`; `COM3` as it is).
    let file = port.strip_prefix("/dev/").unwrap_or(port).to_string();
    p.set("serial.port", port);
    p.set("serial.port.file", file);
    let param = |p: &Properties, key: &str| p.get(key).unwrap_or_default().to_string();
    let quiet = param(&p, &format!("{action}.params.quiet"));
    p.set(format!("{action}.verbose"), quiet);
    if p.contains(&format!("{action}.params.verify")) {
        let verify = param(&p, &format!("{action}.params.verify"));
        p.set(format!("{action}.verify"), verify);
    } else if !p.contains(&format!("{action}.verify")) {
        p.set(format!("{action}.verify"), "");
    }
    if let Some(speed) = options.speed {
        p.set("upload.speed", speed.to_string());
        // A programmer's own speed (`arduinoasisp`: `-b{program.speed}`).
        if programmer.is_some() {
            p.set("program.speed", speed.to_string());
        }
    }
    let mut args = p.command(&format!("{action}.pattern"), &[])?;
    if args.is_empty() {
        return Err(PlatformError::Missing {
            key: format!("tools.{tool}.{action}.pattern"),
        });
    }
    let speed_now = param(&p, "upload.speed");
    let protocol_now = match programmer {
        Some(_) => param(&p, "protocol"),
        None => param(&p, "upload.protocol"),
    };
    let value = |name: &str| match name {
        "UPLOAD_PORT" => port.to_string(),
        "UPLOAD_SPEED" => speed_now.clone(),
        _ => protocol_now.to_string(),
    };
    for flag in options.flags {
        args.push(OsString::from(expand(flag, &value)?));
    }
    // Whether the speed asked for reaches the tool: the recipe takes one,
    // or a flag says `$UPLOAD_SPEED` (PlatformIO's way for a programmer).
    let raw_pattern = p
        .get(&format!("{action}.pattern"))
        .unwrap_or_default()
        .to_string()
        + p.get("program.extra_params").unwrap_or_default();
    let speed_taken = options.speed.is_none()
        || ["{upload.speed}", "{program.speed}"]
            .iter()
            .any(|k| raw_pattern.contains(k))
        || options.flags.iter().any(|f| f.contains("UPLOAD_SPEED"));
    let program = PathBuf::from(args.remove(0));
    // A programmer resets nothing and comes back as no port.
    let flag = |key: &str| programmer.is_none() && p.get(key).is_some_and(|v| v.trim() == "true");
    Ok(UploadPlan {
        program,
        args,
        protocol: protocol_now,
        speed: match programmer {
            Some(_) => String::new(),
            None => param(&p, "upload.speed"),
        },
        touch_1200bps: flag("upload.use_1200bps_touch"),
        wait_for_upload_port: flag("upload.wait_for_upload_port"),
        needs_port: programmer.is_none() || p.get("communication") == Some("serial"),
        speed_taken,
        tool,
    })
}

/// The core's programmer that `wanted` names: by id, else by protocol;
/// an error names the board's protocol and the programmers there are.
fn programmer(props: &Properties, wanted: &str) -> Result<String, PlatformError> {
    let ids: Vec<String> = props
        .keys()
        .filter_map(|k| k.strip_prefix("programmers.")?.strip_suffix(".name"))
        .map(str::to_string)
        .collect();
    let protocol_of = |id: &str| props.get(&format!("programmers.{id}.protocol"));
    if let Some(id) = ids
        .iter()
        .find(|id| id.as_str() == wanted)
        .or_else(|| ids.iter().find(|id| protocol_of(id) == Some(wanted)))
    {
        return Ok(id.clone());
    }
    let own = props.get("upload.protocol").unwrap_or("none");
    Err(PlatformError::Invalid {
        key: "upload_protocol".into(),
        message: format!(
            "{wanted:?} is neither the board's bootloader protocol ({own}) nor a programmer \
             of its core ({})",
            if ids.is_empty() {
                "it has none".to_string()
            } else {
                ids.join(", ")
            }
        ),
    })
}

/// The build outputs the upload sends: each file under `build.path` that
/// the board's upload pattern names, in its order (the AVR core's
/// `-Uflash:w:{build.path}/{build.project_name}.hex:i` names the `.hex`
/// its `recipe.objcopy.hex.pattern` wrote). Only the build's own outputs
/// (`{build.project_name}.*`) count: a pattern may name other files there
/// (a log the tool writes). Empty when the pattern names none.
pub fn upload_inputs(props: &Properties) -> Result<Vec<PathBuf>, PlatformError> {
    let Some(build_path) = props.get_path("build.path") else {
        return Ok(Vec::new());
    };
    // The files do not depend on the port, which is not known yet.
    let plan = upload_plan(props, "", &UploadOptions::default())?;
    let outputs = format!("{}.", props.get("build.project_name").unwrap_or("firmware"));
    let dir = build_path.as_os_str().as_encoded_bytes();
    let mut files = Vec::new();
    for arg in &plan.args {
        let mut rest = arg.as_encoded_bytes();
        while let Some(found) = find(rest, dir) {
            let tail = &rest[found + dir.len()..];
            let len = tail
                .iter()
                .position(|b| b":,;\"' ".contains(b))
                .unwrap_or(tail.len());
            if len > 1 && matches!(tail[0], b'/' | b'\\') {
                let file = PathBuf::from(os_from_bytes(&rest[found..found + dir.len() + len]));
                let ours = file
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&outputs));
                if ours && !files.contains(&file) {
                    files.push(file);
                }
            }
            rest = &tail[len..];
        }
    }
    Ok(files)
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(unix)]
fn os_from_bytes(bytes: &[u8]) -> OsString {
    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes).to_os_string()
}

#[cfg(not(unix))]
fn os_from_bytes(bytes: &[u8]) -> OsString {
    String::from_utf8_lossy(bytes).into_owned().into()
}

/// How `deploy --emulator` runs the firmware: the board's `emulator.tool`
/// names a tool whose `emulate.pattern` is the command and whose
/// `emulate.output` says where the UART comes out (`stdout`, or `simavr`:
/// simavr's coloured stderr lines). An fbuild extension of the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorPlan {
    pub tool: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub output: String,
}

pub fn emulator_plan(props: &Properties) -> Result<EmulatorPlan, PlatformError> {
    let tool = props
        .get("emulator.tool")
        .ok_or(PlatformError::Missing {
            key: "emulator.tool (no emulator for this board: deploy to a port instead)".into(),
        })?
        .to_string();
    let mut p = props.clone();
    p.merge(&props.subtree(&format!("tools.{tool}")));
    let mut args = p.command("emulate.pattern", &[])?;
    if args.is_empty() {
        return Err(PlatformError::Missing {
            key: format!("tools.{tool}.emulate.pattern"),
        });
    }
    Ok(EmulatorPlan {
        program: PathBuf::from(args.remove(0)),
        args,
        output: p.get("emulate.output").unwrap_or("stdout").to_string(),
        tool,
    })
}

/// The board's USB ids from `vid.N`/`pid.N` (hex), for finding its port.
pub fn usb_ids(props: &Properties) -> Vec<(u16, u16)> {
    let hex = |v: &str| {
        u16::from_str_radix(
            v.trim().trim_start_matches("0x").trim_start_matches("0X"),
            16,
        )
        .ok()
    };
    (0..)
        .map_while(|n| {
            Some((
                props.get(&format!("vid.{n}"))?,
                props.get(&format!("pid.{n}"))?,
            ))
        })
        .filter_map(|(v, p)| Some((hex(v)?, hex(p)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn props(text: &str) -> Properties {
        Properties::parse(text, Path::new("/core/boards.txt")).unwrap()
    }

    #[test]
    fn the_tools_pattern_with_port_speed_and_params() {
        let p = props(
            "upload.tool=arduino:avrdude\nupload.protocol=arduino\nupload.speed=115200\nbuild.mcu=atmega328p\n\
             build.path=/b\nbuild.project_name=firmware\nvid.0=0x2341\npid.0=0x0043\nvid.1=0x2A03\npid.1=0x0043\n\
             tools.avrdude.path=/usr\ntools.avrdude.cmd.path={path}/bin/avrdude\ntools.avrdude.config.path=/etc/avrdude.conf\n\
             tools.avrdude.upload.params.quiet=-q -q\ntools.avrdude.upload.verify=\n\
             tools.avrdude.upload.pattern=\"{cmd.path}\" \"-C{config.path}\" {upload.verbose} {upload.verify} -p{build.mcu} -c{upload.protocol} \"-P{serial.port}\" -b{upload.speed} -D \"-Uflash:w:{build.path}/{build.project_name}.hex:i\"\n",
        );
        let speed = UploadOptions {
            speed: Some(57600),
            ..UploadOptions::default()
        };
        let plan = upload_plan(&p, "/dev/ttyACM0", &speed).unwrap();
        assert_eq!(plan.program, PathBuf::from("/usr/bin/avrdude"));
        assert_eq!(
            plan.args,
            [
                "-C/etc/avrdude.conf",
                "-q",
                "-q",
                "-patmega328p",
                "-carduino",
                "-P/dev/ttyACM0",
                "-b57600",
                "-D",
                "-Uflash:w:/b/firmware.hex:i"
            ]
        );
        assert!(!plan.touch_1200bps);
        assert_eq!(usb_ids(&p), vec![(0x2341, 0x0043), (0x2A03, 0x0043)]);
        assert_eq!(
            upload_inputs(&p).unwrap(),
            [PathBuf::from("/b/firmware.hex")]
        );
        let err = upload_plan(
            &props("upload.tool=nothing\n"),
            "/dev/x",
            &UploadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("upload.pattern"), "{err}");
    }

    #[test]
    fn the_upload_sends_the_files_its_pattern_names() {
        let p = props(
            "upload.tool=esptool\nbuild.path=/my build\nbuild.project_name=firmware\n\
             tools.esptool.upload.pattern=esptool --port {serial.port} write_flash 0x1000 \
             \"{build.path}/{build.project_name}.bootloader.bin\" 0xe000 \"{runtime.platform.path}/boot.bin\" \
             0x10000 \"{build.path}/{build.project_name}.bin\" --log={build.path} \"{build.path}/{build.project_name}.bin\" \
             --trace={build.path}/esptool.log\n\
             runtime.platform.path=/core\n",
        );
        assert_eq!(
            upload_inputs(&p).unwrap(),
            [
                PathBuf::from("/my build/firmware.bootloader.bin"),
                PathBuf::from("/my build/firmware.bin")
            ]
        );
        let none = props("upload.tool=t\ntools.t.upload.pattern=t {serial.port}\n");
        assert!(upload_inputs(&none).unwrap().is_empty());
    }

    #[test]
    fn a_programmer_takes_the_speed_and_flags_name_port_and_speed() {
        let p = props(
            "upload.tool=avrdude\nupload.protocol=arduino\nupload.speed=115200\nbuild.mcu=m\n\
             tools.avrdude.cmd.path=/bin/avrdude\n\
             tools.avrdude.upload.pattern={cmd.path} -c{upload.protocol} -P{serial.port} -b{upload.speed}\n\
             tools.avrdude.program.pattern={cmd.path} -c{protocol} {program.extra_params}\n\
             programmers.avrisp.name=AVR ISP\nprogrammers.avrisp.protocol=stk500v1\n\
             programmers.avrisp.communication=serial\nprogrammers.avrisp.program.tool=avrdude\n\
             programmers.avrisp.program.extra_params=-P{serial.port}\n\
             programmers.arduinoasisp.name=Arduino as ISP\nprogrammers.arduinoasisp.protocol=stk500v1\n\
             programmers.arduinoasisp.program.tool=avrdude\nprogrammers.arduinoasisp.program.speed=19200\n\
             programmers.arduinoasisp.program.extra_params=-P{serial.port} -b{program.speed}\n",
        );
        let flags = [
            "-b$UPLOAD_SPEED".to_string(),
            "-x${UPLOAD_PORT}".to_string(),
        ];
        let options = UploadOptions {
            speed: Some(19200),
            protocol: Some("stk500v1"),
            flags: &flags,
        };
        let plan = upload_plan(&p, "/dev/ttyUSB0", &options).unwrap();
        assert_eq!(
            plan.args,
            ["-cstk500v1", "-P/dev/ttyUSB0", "-b19200", "-x/dev/ttyUSB0"]
        );
        assert!(plan.speed_taken);
        // Without the flag, the speed reaches nothing of avrisp's: said.
        let plain = UploadOptions {
            flags: &[],
            ..options
        };
        assert!(!upload_plan(&p, "/dev/ttyUSB0", &plain).unwrap().speed_taken);
        // arduinoasisp's own -b{program.speed} takes upload_speed.
        let asisp = UploadOptions {
            speed: Some(57600),
            protocol: Some("arduinoasisp"),
            flags: &[],
        };
        let plan = upload_plan(&p, "/dev/ttyUSB0", &asisp).unwrap();
        assert_eq!(plan.args, ["-cstk500v1", "-P/dev/ttyUSB0", "-b57600"]);
        // A variable fbuild does not know is named.
        let unknown = ["-C$PROJECT_DIR/avrdude.conf".to_string()];
        let err = upload_plan(
            &p,
            "/dev/ttyUSB0",
            &UploadOptions {
                flags: &unknown,
                ..options
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("$PROJECT_DIR") && err.contains("$UPLOAD_PORT"),
            "{err}"
        );
    }
}
