//! What is typed into the monitor goes to the board, as PlatformIO's
//! monitor sends it: Enter becomes the end of line the board expects
//! (`--eol`, `monitor_eol`: CRLF unless set), `--echo` shows what was
//! typed, the `send_on_enter` filter sends a line at a time, Ctrl-C quits,
//! and Ctrl-T starts a menu key (Ctrl-T Ctrl-H lists them). A terminal is
//! read key by key (raw mode, restored at the end: `termios`); a pipe as it
//! comes, its end ending only the input.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fbuild_core::time::{BOARD_RETURN_WAIT, MONITOR_PAUSE_POLL};

/// Where typed bytes go: the open port's writer (none while an upload has
/// the port, or before it opens: bytes typed then wait for it, up to
/// [`BOARD_RETURN_WAIT`], and are dropped, and said, after).
pub type PortWriter = Arc<Mutex<Option<Box<dyn Write + Send>>>>;

/// The end of line Enter sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eol {
    #[default]
    CrLf,
    Cr,
    Lf,
}

impl Eol {
    /// `CRLF`, `CR` or `LF` (any case); else an error naming them.
    pub fn parse(text: &str) -> Result<Eol, crate::DeployError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "CRLF" => Ok(Eol::CrLf),
            "CR" => Ok(Eol::Cr),
            "LF" => Ok(Eol::Lf),
            _ => Err(crate::DeployError::MonitorOption {
                option: "end of line",
                value: text.to_string(),
                allowed: "CRLF, CR or LF".into(),
            }),
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Eol::CrLf => b"\r\n",
            Eol::Cr => b"\r",
            Eol::Lf => b"\n",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Eol::CrLf => "CRLF",
            Eol::Cr => "CR",
            Eol::Lf => "LF",
        }
    }

    fn next(self) -> Eol {
        match self {
            Eol::CrLf => Eol::Cr,
            Eol::Cr => Eol::Lf,
            Eol::Lf => Eol::CrLf,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct InputOptions {
    pub echo: bool,
    pub eol: Eol,
    pub send_on_enter: bool,
    /// Echo in colour (the `colorize` filter, on a terminal).
    pub colorize: bool,
}

/// What a typed key does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send(Vec<u8>),
    Echo(Vec<u8>),
    /// A line for the user (the menu's answers).
    Say(String),
    Quit,
}

const CTRL_C: u8 = 0x03;
const CTRL_H: u8 = 0x08;
const CTRL_L: u8 = 0x0c;
const CTRL_T: u8 = 0x14;
const DEL: u8 = 0x7f;

const HELP: &str = "monitor keys: Ctrl-C quit | Ctrl-T Ctrl-H this help | Ctrl-T E echo on/off | \
                    Ctrl-T Ctrl-L next end of line (CRLF, CR, LF) | Ctrl-T Ctrl-T send Ctrl-T | \
                    Ctrl-T Ctrl-C send Ctrl-C";

/// Turns typed bytes into actions.
#[derive(Debug, Default)]
pub struct Typing {
    pub options: InputOptions,
    /// The line being typed (`send_on_enter`).
    line: Vec<u8>,
    /// Ctrl-T was typed: the next key is a menu key.
    menu: bool,
    /// The last byte was CR (a CR LF from a pipe is one Enter).
    after_cr: bool,
}

impl Typing {
    pub fn new(options: InputOptions) -> Typing {
        Typing {
            options,
            ..Typing::default()
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            if self.menu {
                self.menu = false;
                actions.push(self.menu_key(b));
            } else if b == CTRL_T {
                self.menu = true;
            } else if b == CTRL_C {
                actions.push(Action::Quit);
                break;
            } else if b == b'\n' && after_cr {
                // The LF of a CR LF: Enter was sent at the CR.
            } else if b == b'\r' || b == b'\n' {
                self.enter(&mut actions);
            } else if self.options.send_on_enter && (b == DEL || b == CTRL_H) {
                if self.line.pop().is_some() && self.options.echo {
                    actions.push(Action::Echo(b"\x08 \x08".to_vec()));
                }
            } else {
                self.typed(b, &mut actions);
            }
        }
        merge(actions)
    }

    fn enter(&mut self, actions: &mut Vec<Action>) {
        let mut out = std::mem::take(&mut self.line);
        out.extend_from_slice(self.options.eol.bytes());
        actions.push(Action::Send(out));
        if self.options.echo {
            actions.push(Action::Echo(b"\n".to_vec()));
        }
    }

    fn typed(&mut self, b: u8, actions: &mut Vec<Action>) {
        match self.options.send_on_enter {
            true => self.line.push(b),
            false => actions.push(Action::Send(vec![b])),
        }
        if self.options.echo {
            actions.push(Action::Echo(vec![b]));
        }
    }

    fn menu_key(&mut self, b: u8) -> Action {
        match b {
            CTRL_H | b'h' | b'H' => Action::Say(HELP.to_string()),
            b'e' | b'E' => {
                self.options.echo = !self.options.echo;
                let now = if self.options.echo { "on" } else { "off" };
                Action::Say(format!("local echo {now}"))
            }
            CTRL_L => {
                self.options.eol = self.options.eol.next();
                Action::Say(format!("end of line: {}", self.options.eol.name()))
            }
            CTRL_T | CTRL_C => Action::Send(vec![b]),
            other => Action::Say(format!(
                "Ctrl-T then {other:#04x} is no menu key; Ctrl-T Ctrl-H lists them"
            )),
        }
    }
}

/// The sends (and the echoes) between two other actions as one each: a
/// pasted line is one write to the port.
fn merge(actions: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    let (mut send, mut echo) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<Action>, send: &mut Vec<u8>, echo: &mut Vec<u8>| {
        if !send.is_empty() {
            out.push(Action::Send(std::mem::take(send)));
        }
        if !echo.is_empty() {
            out.push(Action::Echo(std::mem::take(echo)));
        }
    };
    for a in actions {
        match a {
            Action::Send(more) => send.extend(more),
            Action::Echo(more) => echo.extend(more),
            other => {
                flush(&mut out, &mut send, &mut echo);
                out.push(other);
            }
        }
    }
    flush(&mut out, &mut send, &mut echo);
    out
}

/// Reads the keyboard (stdin) on a thread for as long as the process runs,
/// sending what is typed to `port`. A terminal is put in raw mode until
/// the returned guard drops; `quit` is called for Ctrl-C.
pub fn start(
    options: InputOptions,
    port: PortWriter,
    quit: fn(),
) -> Option<crate::termios::RawStdin> {
    let raw = crate::termios::RawStdin::enter();
    let terminal_out = std::io::IsTerminal::is_terminal(&std::io::stdout());
    std::thread::spawn(move || {
        let mut typing = Typing::new(options);
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for action in typing.feed(&buf[..n]) {
                act(action, &port, terminal_out && typing.options.colorize, quit);
            }
        }
    });
    raw
}

fn act(action: Action, port: &PortWriter, colour: bool, quit: fn()) {
    match action {
        Action::Send(bytes) => {
            let deadline = Instant::now() + BOARD_RETURN_WAIT;
            let mut slot = port.lock().unwrap_or_else(|p| p.into_inner());
            // Typed (or piped) before the port opened, or while an upload
            // has it: wait for it.
            while slot.is_none() && Instant::now() < deadline {
                drop(slot);
                std::thread::sleep(MONITOR_PAUSE_POLL);
                slot = port.lock().unwrap_or_else(|p| p.into_inner());
            }
            let sent = match slot.as_mut() {
                Some(w) => w.write_all(&bytes).and_then(|()| w.flush()).is_ok(),
                None => false,
            };
            if !sent {
                eprintln!(
                    "fbuild: the port is not open: {} typed bytes dropped",
                    bytes.len()
                );
            }
        }
        Action::Echo(bytes) => {
            let mut out = std::io::stdout().lock();
            let _ = match colour {
                true => out
                    .write_all(b"\x1b[33m")
                    .and_then(|()| out.write_all(&bytes))
                    .and_then(|()| out.write_all(b"\x1b[0m")),
                false => out.write_all(&bytes),
            };
            let _ = out.flush();
        }
        Action::Say(text) => eprintln!("\r\nfbuild: {text}"),
        Action::Quit => quit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(bytes: &[u8]) -> Action {
        Action::Send(bytes.to_vec())
    }

    #[test]
    fn enter_sends_the_end_of_line_and_ctrl_c_quits() {
        let mut t = Typing::new(InputOptions::default());
        assert_eq!(t.feed(b"ab\r"), [send(b"ab\r\n")]);
        // A pipe's CR LF is one Enter; its LF alone too.
        assert_eq!(t.feed(b"x\r\ny\n"), [send(b"x\r\ny\r\n")]);
        assert_eq!(t.feed(b"q\x03more"), [send(b"q"), Action::Quit]);
        let mut lf = Typing::new(InputOptions {
            eol: Eol::Lf,
            echo: true,
            ..InputOptions::default()
        });
        assert_eq!(
            lf.feed(b"hi\r"),
            [send(b"hi\n"), Action::Echo(b"hi\n".to_vec())]
        );
        assert_eq!(Eol::parse("crlf").unwrap(), Eol::CrLf);
        let err = Eol::parse("CRCR").unwrap_err().to_string();
        assert!(err.contains("CRLF, CR or LF"), "{err}");
    }

    #[test]
    fn send_on_enter_keeps_the_line_and_the_menu_answers() {
        let mut t = Typing::new(InputOptions {
            send_on_enter: true,
            ..InputOptions::default()
        });
        assert_eq!(t.feed(b"helo"), []);
        assert_eq!(t.feed(b"\x7f\x7fllo\r"), [send(b"hello\r\n")]);
        assert!(matches!(&t.feed(b"\x14\x08")[..], [Action::Say(h)] if h.contains("Ctrl-C quit")));
        assert_eq!(t.feed(b"\x14e"), [Action::Say("local echo on".into())]);
        assert_eq!(
            t.feed(b"a"),
            [Action::Echo(b"a".to_vec())],
            "echoed, kept for Enter"
        );
        assert_eq!(t.feed(b"\x14\x0c"), [Action::Say("end of line: CR".into())]);
        assert_eq!(t.feed(b"\x14\x03"), [send(b"\x03")], "Ctrl-C to the board");
    }
}
