//! The emulated board: the firmware runs in the emulator the board's data
//! names (see `recipe::emulator_plan`: qemu, simavr, …) and its UART
//! output is fed to the monitor, from stdout as it comes, or decoded from
//! simavr's stderr.
//!
//! simavr prints UART output on stderr, one line at a time once `\n`
//! arrives, wrapped in colour codes (`\e[32mhello from uno..\n\e[0m`) with
//! CR and LF shown as `.`. Its own messages are not coloured, so only green
//! lines are UART output; the trailing `..` (CR LF) becomes a newline.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::Sender;

use fbuild_core::tool::Tool;

use crate::DeployError;

use crate::monitor::Chunk;
use crate::recipe::EmulatorPlan;

/// A running simavr; killed when dropped.
pub struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the emulator of `plan` and feeds its UART output into `tx` from
/// a thread.
pub fn start(plan: &EmulatorPlan, tx: Sender<Chunk>) -> Result<Emulator, DeployError> {
    let simavr = plan.output == "simavr";
    let mut cmd = Tool::new(&plan.program).args(&plan.args).command();
    cmd.stdin(Stdio::null());
    if simavr {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    }
    let mut child = cmd.spawn().map_err(|source| DeployError::ToolMissing {
        program: plan.program.clone(),
        install: format!("on Debian: apt-get install {}", debian_package(&plan.tool)),
        source,
    })?;
    if simavr {
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || read_simavr(stderr, &tx));
    } else {
        let mut stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Chunk::End(Ok(())));
        });
    }
    Ok(Emulator(child))
}

/// The Debian package of an emulator tool, for the hint.
fn debian_package(tool: &str) -> &str {
    match tool {
        "qemu" => "qemu-system-arm",
        other => other,
    }
}

/// Sends the UART lines of simavr's `stderr` (see [`uart_line`]) to `tx`
/// as they come, then the end; stops early when nobody listens. (simavr
/// prints at most 256 characters a line: no line is unbounded.)
pub fn read_simavr(stderr: impl Read, tx: &Sender<Chunk>) {
    for line in BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else { break };
        if let Some(text) = uart_line(&line)
            && tx.send(Chunk::Data(text)).is_err()
        {
            return;
        }
    }
    let _ = tx.send(Chunk::End(Ok(())));
}

/// The UART text of one simavr stderr line, if it is one.
pub fn uart_line(raw: &[u8]) -> Option<Vec<u8>> {
    const GREEN: &[u8] = b"\x1b[32m";
    raw.windows(GREEN.len()).position(|w| w == GREEN)?;
    let mut text = strip_escapes(raw);
    if text.ends_with(b"..") {
        text.truncate(text.len() - 2);
    }
    text.push(b'\n');
    Some(text)
}

fn strip_escapes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == 0x1b && raw.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < raw.len() && !raw[i].is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_simavr_uart_lines() {
        assert_eq!(
            uart_line(b"\x1b[32mhello from uno..").unwrap(),
            b"hello from uno\n"
        );
        assert_eq!(
            uart_line(b"\x1b[0m\x1b[32mhello from uno..").unwrap(),
            b"hello from uno\n"
        );
        assert_eq!(uart_line(b"Loaded 1682 .text at address 0x0"), None);
    }
}
