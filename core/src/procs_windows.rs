//! Process checks on Windows, through a process handle: no /proc, and
//! another process's arguments are not readable. Also who a process is:
//! its creation time, and the user its token runs as (this process's
//! user's SID is the one place both the coordinator's pipe access rule and
//! the client's check of who serves that pipe come from).

use std::io;
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, LocalFree, STILL_ACTIVE};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{
    EqualSid, GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetExitCodeProcess, GetProcessTimes, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE, QueryFullProcessImageNameW,
    TerminateProcess,
};

/// A process or token handle, closed on drop.
struct Handle(HANDLE);

impl Handle {
    fn open(pid: u32, access: u32) -> io::Result<Handle> {
        // SAFETY: OpenProcess with a pid; a null handle is failure.
        let h = unsafe { OpenProcess(access, 0, pid) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Handle(h))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle OpenProcess or OpenProcessToken gave us, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Whether `pid` is a live process (one that has exited but whose handle
/// someone still holds is not).
pub fn is_alive(pid: u32) -> bool {
    let Ok(h) = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION) else {
        return false;
    };
    let mut code = 0u32;
    // SAFETY: a valid handle and an out pointer to a u32.
    let ok = unsafe { GetExitCodeProcess(h.0, &mut code) };
    ok != 0 && code == STILL_ACTIVE as u32
}

/// Ends `pid` at once (TerminateProcess). The caller has checked what it is.
pub fn kill(pid: u32) {
    if let Ok(h) = Handle::open(pid, PROCESS_TERMINATE) {
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
    let h = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION).ok()?;
    let mut buf = vec![0u16; 32 * 1024];
    let mut len = buf.len() as u32;
    // SAFETY: a valid handle; buf holds len u16s and len is updated.
    let ok = unsafe { QueryFullProcessImageNameW(h.0, 0, buf.as_mut_ptr(), &mut len) };
    (ok != 0).then(|| PathBuf::from(std::ffi::OsString::from_wide(&buf[..len as usize])))
}

/// When `pid` was created (`GetProcessTimes`).
pub fn created(pid: u32) -> Option<SystemTime> {
    let h = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION).ok()?;
    let [mut created, mut exited, mut kernel, mut user] = [FILETIME::default(); 4];
    // SAFETY: a valid handle and four out pointers to FILETIMEs.
    let ok = unsafe { GetProcessTimes(h.0, &mut created, &mut exited, &mut kernel, &mut user) };
    if ok == 0 {
        return None;
    }
    // 100 ns ticks since 1601-01-01 (UTC).
    let ticks = (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime);
    const SECS_1601_TO_1970: u64 = 11_644_473_600;
    let since_1601 = Duration::new(ticks / 10_000_000, (ticks % 10_000_000) as u32 * 100);
    Some(UNIX_EPOCH + since_1601.checked_sub(Duration::from_secs(SECS_1601_TO_1970))?)
}

/// This process's user's SID as text (`S-1-5-21-…`), for access rules.
pub fn current_user_sid() -> io::Result<String> {
    let user = TokenUserInfo::of_current()?;
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: a SID inside `user`'s buffer; the string the call allocates
    // is read up to its NUL and freed with LocalFree, as documented.
    unsafe {
        if ConvertSidToStringSidW(user.sid(), &mut text) == 0 {
            return Err(io::Error::last_os_error());
        }
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        Ok(sid)
    }
}

/// Whether `pid` runs as this process's user (its token's user SID).
pub fn runs_as_current_user(pid: u32) -> io::Result<bool> {
    let process = Handle::open(pid, PROCESS_QUERY_LIMITED_INFORMATION)?;
    let theirs = TokenUserInfo::of(&process)?;
    let ours = TokenUserInfo::of_current()?;
    // SAFETY: two SIDs inside buffers that live across the call.
    Ok(unsafe { EqualSid(theirs.sid(), ours.sid()) } != 0)
}

/// A process token's `TOKEN_USER`, in a buffer aligned for it (the SID it
/// points at lies in the same buffer).
struct TokenUserInfo(Vec<u64>);

impl TokenUserInfo {
    fn of_current() -> io::Result<TokenUserInfo> {
        // SAFETY: the pseudo-handle of this process; never closed.
        TokenUserInfo::of_handle(unsafe { GetCurrentProcess() })
    }

    fn of(process: &Handle) -> io::Result<TokenUserInfo> {
        TokenUserInfo::of_handle(process.0)
    }

    fn of_handle(process: HANDLE) -> io::Result<TokenUserInfo> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: a process handle opened for query; the token handle is
        // ours and closed by `Handle`; the buffer is sized by the first call.
        unsafe {
            if OpenProcessToken(process, TOKEN_QUERY, &mut token) == 0 {
                return Err(io::Error::last_os_error());
            }
            let token = Handle(token);
            let mut len = 0u32;
            GetTokenInformation(token.0, TokenUser, std::ptr::null_mut(), 0, &mut len);
            let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
            let size = (buf.len() * 8) as u32;
            if GetTokenInformation(token.0, TokenUser, buf.as_mut_ptr().cast(), size, &mut len) == 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(TokenUserInfo(buf))
        }
    }

    fn sid(&self) -> windows_sys::Win32::Security::PSID {
        // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER.
        unsafe { (*(self.0.as_ptr() as *const TOKEN_USER)).User.Sid }
    }
}

#[cfg(test)]
mod tests {
    //! Windows only: run under wine (`cargo test --target
    //! x86_64-pc-windows-gnu --no-run`, then the test binary).
    use super::*;

    #[test]
    fn this_process_was_created_just_now_and_runs_as_this_user() {
        let me = std::process::id();
        let created = created(me).unwrap();
        let age = SystemTime::now().duration_since(created).unwrap();
        assert!(age < Duration::from_secs(600), "{age:?}");
        assert!(runs_as_current_user(me).unwrap());
        assert!(current_user_sid().unwrap().starts_with("S-1-"));
    }
}
