//! The emulated board: the firmware runs in simavr for the board's MCU and
//! its UART output is fed to the monitor.
//!
//! simavr prints UART output on stderr, one line at a time once `\n`
//! arrives, wrapped in colour codes (`\e[32mhello from uno..\n\e[0m`) with
//! CR and LF shown as `.`. Its own messages are not coloured, so only green
//! lines are UART output; the trailing `..` (CR LF) becomes a newline.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;

use crate::monitor::Chunk;

/// A running simavr; killed when dropped.
pub struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts simavr on `elf` and feeds its UART lines into `tx` from a thread.
pub fn start(elf: &Path, mcu: &str, f_cpu: &str, tx: Sender<Chunk>) -> Result<Emulator, String> {
    let freq = f_cpu.trim_end_matches(['L', 'l', 'U', 'u']);
    let mut child = Command::new("simavr")
        .args(["-m", mcu, "-f", freq])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run simavr ({e}); on Debian: apt-get install simavr"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            if let Some(text) = uart_line(&line)
                && tx.send(Chunk::Data(text)).is_err()
            {
                return;
            }
        }
        let _ = tx.send(Chunk::End(Ok(())));
    });
    Ok(Emulator(child))
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
