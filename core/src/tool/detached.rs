//! Starting a program that outlives its starter, holding nothing of it
//! (Windows). The coordinator is usually started from inside a build: a
//! shim run by ninja holds ninja's output pipe as an inheritable handle,
//! and a daemon that inherits it keeps ninja waiting for EOF forever (the
//! Unix twin of this hazard is handled by the client's double fork and
//! the coordinator closing inherited fds). `std::process::Command` always
//! passes `bInheritHandles = TRUE`, so this calls `CreateProcessW` itself
//! with `FALSE`, `CREATE_NO_WINDOW` and a new process group: the program
//! gets a console of its own, hidden (not the build's: no console events
//! from the build's Ctrl-C). Not `DETACHED_PROCESS`: a process without a
//! console makes every console program it starts (zccache, compilers)
//! allocate a new, visible console window; with a hidden console, they
//! share it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::windows::ffi::OsStrExt;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, CREATE_UNICODE_ENVIRONMENT, CreateProcessW,
    GetExitCodeProcess, PROCESS_INFORMATION, STARTUPINFOW, WaitForSingleObject,
};

use super::Tool;

/// A started detached process: its pid, and whether it has exited yet.
pub struct Detached {
    pub pid: u32,
    process: HANDLE,
}

impl Detached {
    /// Its exit code if it has exited.
    pub fn exited(&self) -> Option<u32> {
        // SAFETY: our process handle, open until drop.
        unsafe {
            if WaitForSingleObject(self.process, 0) == WAIT_TIMEOUT {
                return None;
            }
            let mut code = 0u32;
            GetExitCodeProcess(self.process, &mut code);
            Some(code)
        }
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        // SAFETY: the handle CreateProcessW gave us, closed once.
        unsafe { CloseHandle(self.process) };
    }
}

/// Starts `tool` detached: no handles inherited, a hidden console of its
/// own, its own process group; stdin/stdout/stderr are that console's (the
/// program logs to its own files).
pub fn spawn(tool: &Tool) -> io::Result<Detached> {
    let mut line: Vec<u16> = quote(tool.program.as_os_str());
    for arg in &tool.args {
        line.push(u16::from(b' '));
        line.extend(quote(arg));
    }
    line.push(0);
    let program = wide(tool.program.as_os_str());
    let cwd = tool.cwd.as_ref().map(|d| wide(d.as_os_str()));
    let env = (!tool.env.is_empty()).then(|| env_block(tool));
    // SAFETY: zeroed STARTUPINFOW with its size set is the documented
    // default; every string is NUL-terminated UTF-16 that outlives the
    // call; both returned handles are closed (the thread's at once).
    unsafe {
        let mut si: STARTUPINFOW = std::mem::zeroed();
        si.cb = std::mem::size_of::<STARTUPINFOW>() as u32;
        let mut pi: PROCESS_INFORMATION = std::mem::zeroed();
        let ok = CreateProcessW(
            program.as_ptr(),
            line.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            0,
            CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT,
            env.as_ref().map_or(std::ptr::null(), |e| e.as_ptr().cast()),
            cwd.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            &si,
            &mut pi,
        );
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        CloseHandle(pi.hThread);
        Ok(Detached {
            pid: pi.dwProcessId,
            process: pi.hProcess,
        })
    }
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// This process's environment with the tool's changes, as a sorted
/// `KEY=VALUE\0…\0\0` block.
fn env_block(tool: &Tool) -> Vec<u16> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (key, value) in &tool.env {
        let same = |k: &OsString| {
            k.to_string_lossy()
                .eq_ignore_ascii_case(&key.to_string_lossy())
        };
        vars.retain(|(k, _)| !same(k));
        if let Some(value) = value {
            vars.push((key.clone(), value.clone()));
        }
    }
    vars.sort_by_key(|(k, _)| k.to_string_lossy().to_uppercase());
    let mut block = Vec::new();
    for (k, v) in vars {
        block.extend(k.encode_wide());
        block.push(u16::from(b'='));
        block.extend(v.encode_wide());
        block.push(0);
    }
    block.push(0);
    block
}

/// One argument quoted as the MSVC runtime (and Rust's std) parse a
/// command line: quotes around anything with a space, tab or quote (or
/// nothing), backslashes doubled before a quote.
pub fn quote(arg: &OsStr) -> Vec<u16> {
    let units: Vec<u16> = arg.encode_wide().collect();
    let plain = !units.is_empty()
        && !units
            .iter()
            .any(|&c| c == u16::from(b' ') || c == u16::from(b'\t') || c == u16::from(b'"'));
    if plain {
        return units;
    }
    let mut out = vec![u16::from(b'"')];
    let mut backslashes = 0usize;
    for c in units {
        if c == u16::from(b'\\') {
            backslashes += 1;
            continue;
        }
        let times = if c == u16::from(b'"') {
            backslashes * 2 + 1
        } else {
            backslashes
        };
        out.extend(std::iter::repeat_n(u16::from(b'\\'), times));
        backslashes = 0;
        out.push(c);
    }
    out.extend(std::iter::repeat_n(u16::from(b'\\'), backslashes * 2));
    out.push(u16::from(b'"'));
    out
}
