//! Running the upload the core's recipe planned (see `recipe`): its output
//! streamed, its exit code returned, and a clear message for the common
//! failures; the Leonardo-style 1200-baud touch and port re-discovery.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use fbuild_core::tool::Tool;

use crate::DeployError;
use crate::recipe::UploadPlan;

/// Runs the upload, streaming its output to stderr; returns its exit code
/// and a hint for a recognised failure.
pub fn run(plan: &UploadPlan, port: &str) -> Result<(i32, Option<String>), DeployError> {
    let mut child = Tool::new(&plan.program)
        .args(&plan.args)
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| DeployError::ToolMissing {
            program: plan.program.clone(),
            install: format!(
                "install {} (on Debian: apt-get install {})",
                plan.tool, plan.tool
            ),
            source,
        })?;
    let mut seen = String::new();
    let stderr = child.stderr.take().expect("piped stderr");
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let _ = writeln!(std::io::stderr(), "{line}");
        seen.push_str(&line);
        seen.push('\n');
    }
    let status = child.wait().map_err(|source| DeployError::Wait {
        program: plan.program.clone(),
        source,
    })?;
    let code = status.code().unwrap_or(1);
    Ok((code, (code != 0).then(|| hint(&seen, port)).flatten()))
}

/// What to do about a failed upload, from avrdude's output.
pub fn hint(output: &str, port: &str) -> Option<String> {
    let o = output.to_lowercase();
    if o.contains("permission denied") || o.contains("access is denied") {
        Some(format!(
            "no permission to open {port}: {}",
            crate::termios::DENIED_HINT
        ))
    } else if o.contains("no such file")
        || o.contains("can't open device")
        || o.contains("cannot open port")
    {
        Some(format!(
            "the port {port} does not exist: is the board plugged in? `fbuild device list` shows the ports"
        ))
    } else if o.contains("not in sync") || o.contains("not responding") {
        Some(format!(
            "the board on {port} does not answer the bootloader: check the board type and port, press reset, or close other programs using the port"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_for_common_failures() {
        assert!(
            hint(
                "avrdude: ser_open(): can't open device \"/dev/x\": No such file or directory",
                "/dev/x"
            )
            .unwrap()
            .contains("does not exist")
        );
        assert!(
            hint("avrdude: stk500_recv(): programmer is not responding", "p")
                .unwrap()
                .contains("does not answer")
        );
        assert!(
            hint("ser_open(): can't open device: Permission denied", "p")
                .unwrap()
                .contains("dialout")
        );
        assert_eq!(hint("all fine", "p"), None);
    }
}

/// The Leonardo's way into its bootloader: open the port at 1200 baud and
/// close it; the board resets and comes back, often as another port.
pub fn touch_1200bps(port: &str) -> Result<(), DeployError> {
    let mut p = serialport::new(port, 1200)
        .timeout(fbuild_core::time::TOUCH_OPEN_TIMEOUT)
        .open()
        .map_err(|e| DeployError::Serial {
            what: "1200-baud touch of",
            port: port.to_string(),
            why: e.to_string(),
        })?;
    let _ = p.write_data_terminal_ready(false);
    drop(p);
    Ok(())
}

/// After a touch: the port that appeared (the bootloader's), else the old
/// one once it is back (listed, or there by its path: a port no listing
/// shows, such as a `/dev/serial/by-id/…` link or a pty); polls the port
/// list for up to `wait`. As arduino-cli does, each poll is compared with
/// the one before it, not only with the list before the touch: a board
/// that drops off the bus and comes back under the same name (the usual
/// `/dev/ttyACM0` on Linux) is its new port as soon as it is back.
pub fn wait_for_upload_port(
    before: &[String],
    old: &str,
    wait: std::time::Duration,
    list: &dyn Fn() -> Vec<String>,
) -> Option<String> {
    let deadline = std::time::Instant::now() + wait;
    let mut last = before.to_vec();
    // Give the board time to drop off the bus first.
    std::thread::sleep(fbuild_core::time::PORT_DROP_WAIT);
    loop {
        let now = list();
        if let Some(new) = now.iter().find(|p| !last.contains(p)) {
            return Some(new.clone());
        }
        last = now.clone();
        if std::time::Instant::now() >= deadline {
            let back = now.iter().any(|p| p == old) || std::path::Path::new(old).exists();
            return back.then(|| old.to_string());
        }
        std::thread::sleep(fbuild_core::time::PORT_LIST_POLL);
    }
}

#[cfg(test)]
mod reset_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn finds_the_port_that_appears_or_keeps_the_old_one() {
        let before = vec!["/dev/ttyACM0".to_string()];
        let calls = std::cell::Cell::new(0);
        let list = || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                vec![]
            } else {
                vec!["/dev/ttyACM1".to_string()]
            }
        };
        assert_eq!(
            wait_for_upload_port(&before, "/dev/ttyACM0", Duration::from_secs(5), &list).as_deref(),
            Some("/dev/ttyACM1")
        );
        // Off the bus, then back under the same name: found when it is
        // back, not at the end of the wait.
        let polls = std::cell::Cell::new(0);
        let back = || {
            polls.set(polls.get() + 1);
            match polls.get() {
                1 | 2 => vec![],
                _ => vec!["/dev/ttyACM0".to_string()],
            }
        };
        let t = std::time::Instant::now();
        assert_eq!(
            wait_for_upload_port(&before, "/dev/ttyACM0", Duration::from_secs(30), &back)
                .as_deref(),
            Some("/dev/ttyACM0")
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let same = || vec!["/dev/ttyACM0".to_string()];
        assert_eq!(
            wait_for_upload_port(&before, "/dev/ttyACM0", Duration::from_millis(200), &same)
                .as_deref(),
            Some("/dev/ttyACM0")
        );
        assert_eq!(
            wait_for_upload_port(
                &before,
                "/dev/ttyACM0",
                Duration::from_millis(200),
                &Vec::new
            ),
            None
        );
    }
}
