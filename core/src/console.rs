//! A tool's output passed on as the bytes it wrote. On Windows, Rust's
//! standard streams refuse bytes that are not UTF-8 when they are a
//! console (and the error is easy to drop): a compiler's message in the
//! ANSI code page (`ü` as one byte) was cut at that byte, losing the
//! error. Written to the handle itself, the console shows them in its code
//! page, as it would had the compiler written them there.
//!
//! And a line for a shell to read ([`print_for_shell`]): cmd's `for /f`
//! and PowerShell decode a program's piped output in the console's code
//! page, so a home with `ü` printed as UTF-8 came back mangled and the
//! shims were silently not on PATH.
//!
//! And whether colours are left to fbuild ([`colour_left_to_us`]): a
//! compile for a terminal carries the compiler's colour flag through the
//! cache unless the user chose otherwise.

use std::io::Write;

/// Which of this process's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Writes `bytes` to `stream` unchanged (best effort: a closed stream is
/// not an error worth failing a build for).
pub fn write_raw(stream: Stream, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // Anything the standard stream still buffers goes first.
    let _ = match stream {
        Stream::Stdout => std::io::stdout().flush(),
        Stream::Stderr => std::io::stderr().flush(),
    };
    let _ = raw(stream, bytes);
}

#[cfg(unix)]
fn raw(stream: Stream, bytes: &[u8]) -> std::io::Result<()> {
    match stream {
        Stream::Stdout => std::io::stdout().lock().write_all(bytes),
        Stream::Stderr => std::io::stderr().lock().write_all(bytes),
    }
}

#[cfg(windows)]
fn raw(stream: Stream, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::windows::io::{AsRawHandle, FromRawHandle};
    let handle = match stream {
        Stream::Stdout => std::io::stdout().as_raw_handle(),
        Stream::Stderr => std::io::stderr().as_raw_handle(),
    };
    if handle.is_null() {
        return Ok(());
    }
    // SAFETY: the handle is this process's standard stream, valid for its
    // life; ManuallyDrop keeps the File from closing it.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_handle(handle) });
    file.write_all(bytes)
}

/// Prints `line` and a newline on stdout for a shell that reads it: on
/// Windows, when stdout is not the console itself, in the console's output
/// code page (UTF-8 where there is no console or the text does not fit).
pub fn print_for_shell(line: &str) {
    let text = format!("{line}\n");
    let bytes = shell_bytes(&text).unwrap_or_else(|| text.clone().into_bytes());
    write_raw(Stream::Stdout, &bytes);
}

#[cfg(unix)]
fn shell_bytes(_text: &str) -> Option<Vec<u8>> {
    None
}

#[cfg(windows)]
fn shell_bytes(text: &str) -> Option<Vec<u8>> {
    use std::io::IsTerminal;
    use windows_sys::Win32::Globalization::GetACP;
    use windows_sys::Win32::System::Console::GetConsoleOutputCP;
    if std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: no arguments; 0 when this process has no console (then
    // cmd reads in the ANSI code page, as measured under wine: the OEM
    // one and UTF-8 both failed its `if exist`).
    let code_page = match unsafe { GetConsoleOutputCP() } {
        0 => unsafe { GetACP() },
        cp => cp,
    };
    encode(text, code_page)
}

/// `text` as a narrow-API program (a compiler reading a response file)
/// reads it: in the ANSI code page, or UTF-8 where it does not fit there.
#[cfg(windows)]
pub fn ansi_bytes(text: &str) -> Vec<u8> {
    // SAFETY: no arguments.
    let code_page = unsafe { windows_sys::Win32::Globalization::GetACP() };
    encode(text, code_page).unwrap_or_else(|| text.as_bytes().to_vec())
}

/// `text` in `code_page`; `None` for UTF-8 itself or when a character has
/// no form there.
#[cfg(windows)]
fn encode(text: &str, code_page: u32) -> Option<Vec<u8>> {
    use windows_sys::Win32::Globalization::WideCharToMultiByte;
    if code_page == 65001 {
        return None;
    }
    let wide: Vec<u16> = text.encode_utf16().collect();
    if wide.is_empty() {
        return Some(Vec::new());
    }
    let len = i32::try_from(wide.len()).ok()?;
    let mut out = vec![0u8; wide.len() * 4];
    let mut lossy = 0i32;
    // SAFETY: the buffers are valid for the lengths passed; `lossy` is
    // set when a character has no form in that code page.
    let written = unsafe {
        WideCharToMultiByte(
            code_page,
            0,
            wide.as_ptr(),
            len,
            out.as_mut_ptr(),
            i32::try_from(out.len()).ok()?,
            std::ptr::null(),
            &mut lossy,
        )
    };
    if written <= 0 || lossy != 0 {
        return None;
    }
    out.truncate(usize::try_from(written).ok()?);
    Some(out)
}

/// No colour choice of the user's on a compile line: no colour flag
/// (`-f[no-]diagnostics-color…`, `-f[no-]color-diagnostics`) and no
/// `@file` that may hold one, `GCC_COLORS` not set empty, `NO_COLOR` not
/// set, and a terminal that shows colours (`TERM` set, not `dumb`: GCC's
/// own `auto` colours nothing there).
pub fn colour_left_to_us(args: &[String]) -> bool {
    let chosen = args.iter().any(|a| {
        a.starts_with("-fdiagnostics-color")
            || a.starts_with("-fno-diagnostics-color")
            || a.ends_with("color-diagnostics")
            || a.starts_with('@')
    });
    let term = std::env::var_os("TERM").unwrap_or_default();
    let plain_terminal = term.is_empty() || term == "dumb";
    !(chosen || plain_terminal)
        && std::env::var_os("GCC_COLORS").is_none_or(|v| !v.is_empty())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
