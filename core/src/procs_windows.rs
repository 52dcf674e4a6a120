//! Process checks on Windows, through a process handle: no /proc, and
//! another process's arguments are not readable.

use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, STILL_ACTIVE};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE,
    QueryFullProcessImageNameW, TerminateProcess,
};

/// A process handle, closed on drop.
struct Handle(HANDLE);

impl Handle {
    fn open(pid: u32, access: u32) -> Option<Handle> {
        // SAFETY: OpenProcess with a pid; a null handle is failure.
        let h = unsafe { OpenProcess(access, 0, pid) };
        (!h.is_null()).then_some(Handle(h))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle OpenProcess gave us, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Whether `pid` is a live process (one that has exited but whose handle
/// someone still holds is not).
pub fn is_alive(pid: u32) -> bool {
    let Some(h) = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION) else {
        return false;
    };
    let mut code = 0u32;
    // SAFETY: a valid handle and an out pointer to a u32.
    let ok = unsafe { GetExitCodeProcess(h.0, &mut code) };
    ok != 0 && code == STILL_ACTIVE as u32
}

/// Ends `pid` at once (TerminateProcess). The caller has checked what it is.
pub fn kill(pid: u32) {
    if let Some(h) = Handle::open(pid, PROCESS_TERMINATE) {
        // SAFETY: a valid handle opened for termination.
        unsafe { TerminateProcess(h.0, 1) };
    }
}

/// Another process's arguments are not readable on Windows.
pub fn cmdline(_pid: u32) -> Option<Vec<Vec<u8>>> {
    None
}

/// The program `pid` runs: its image path.
pub fn program(pid: u32) -> Option<PathBuf> {
    let h = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION)?;
    let mut buf = vec![0u16; 32 * 1024];
    let mut len = buf.len() as u32;
    // SAFETY: a valid handle; buf holds len u16s and len is updated.
    let ok = unsafe { QueryFullProcessImageNameW(h.0, 0, buf.as_mut_ptr(), &mut len) };
    (ok != 0).then(|| PathBuf::from(std::ffi::OsString::from_wide(&buf[..len as usize])))
}
