//! Starting one test's child process on windows (the part of Go's os/exec and
//! syscall.StartProcess the harness needs): CreateProcessW on this executable with
//! `--gort-run-one NAME`, the three standard handles passed on, then wait for it.
use super::Exit;
use alloc::string::String;
use alloc::vec::Vec;

#[repr(C)]
struct StartupInfoW {
    cb: u32,
    reserved: usize,
    desktop: usize,
    title: usize,
    dims: [u32; 7],
    flags: u32,
    show_window: u16,
    cb_reserved2: u16,
    reserved2: usize,
    std_input: usize,
    std_output: usize,
    std_error: usize,
}

#[repr(C)]
struct ProcessInformation {
    process: usize,
    thread: usize,
    pid: u32,
    tid: u32,
}

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn GetModuleFileNameW(module: usize, buf: *mut u16, len: u32) -> u32;
    fn GetStdHandle(which: u32) -> usize;
    fn SetHandleInformation(h: usize, mask: u32, flags: u32) -> i32;
    fn CreateProcessW(
        app: *const u16,
        cmdline: *mut u16,
        proc_attrs: usize,
        thread_attrs: usize,
        inherit: i32,
        flags: u32,
        env: usize,
        dir: *const u16,
        si: *mut StartupInfoW,
        pi: *mut ProcessInformation,
    ) -> i32;
    fn WaitForSingleObject(h: usize, ms: u32) -> u32;
    fn GetExitCodeProcess(h: usize, code: *mut u32) -> i32;
    fn CloseHandle(h: usize) -> i32;
    fn GetLastError() -> u32;
}

const STARTF_USESTDHANDLES: u32 = 0x100;
const HANDLE_FLAG_INHERIT: u32 = 1;
const INFINITE: u32 = 0xffff_ffff;

/// Runs this executable with `--gort-run-one name` and waits for it.
pub(crate) fn run_child(name: &str) -> Result<Exit, String> {
    let mut exe = alloc::vec![0u16; 32768];
    // SAFETY: GetModuleFileNameW writes at most exe.len() UTF-16 units into exe.
    let n = unsafe { GetModuleFileNameW(0, exe.as_mut_ptr(), exe.len() as u32) } as usize;
    if n == 0 || n >= exe.len() {
        // SAFETY: no arguments.
        return Err(alloc::format!("GetModuleFileNameW: error {}", unsafe { GetLastError() }));
    }
    exe.truncate(n);
    // The command line: "exe" --gort-run-one name (test names are identifiers: no quoting).
    let mut cmd: Vec<u16> = Vec::with_capacity(n + name.len() + 24);
    cmd.push(b'"' as u16);
    cmd.extend_from_slice(&exe);
    cmd.push(b'"' as u16);
    cmd.extend(alloc::format!(" {} {}", super::RUN_ONE, name).encode_utf16());
    cmd.push(0);
    exe.push(0);
    // SAFETY: StartupInfoW and ProcessInformation are plain integers: all zero is valid.
    let (mut si, mut pi): (StartupInfoW, ProcessInformation) = unsafe { core::mem::zeroed() };
    si.cb = core::mem::size_of::<StartupInfoW>() as u32;
    si.flags = STARTF_USESTDHANDLES;
    let mut std = [0usize; 3];
    for (i, which) in [-10i32, -11, -12].into_iter().enumerate() {
        // SAFETY: GetStdHandle and SetHandleInformation take plain values; making the process's
        // own standard handles inheritable changes nothing else about them.
        unsafe {
            std[i] = GetStdHandle(which as u32);
            SetHandleInformation(std[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
        }
    }
    (si.std_input, si.std_output, si.std_error) = (std[0], std[1], std[2]);
    // SAFETY: exe and cmd are NUL-terminated UTF-16 strings (cmd writable, as the API wants);
    // si and pi are valid for the call; the other pointers are NULL (defaults).
    let ok =
        unsafe { CreateProcessW(exe.as_ptr(), cmd.as_mut_ptr(), 0, 0, 1, 0, 0, core::ptr::null(), &mut si, &mut pi) };
    if ok == 0 {
        // SAFETY: no arguments.
        return Err(alloc::format!("CreateProcessW: error {}", unsafe { GetLastError() }));
    }
    let mut code: u32 = 0;
    // SAFETY: pi.process is the child's handle, open until the CloseHandle below; the wait
    // blocks the thread, so it runs as a blocking call (the P is handed off meanwhile).
    let got = crate::syscall::blocking(|| unsafe {
        WaitForSingleObject(pi.process, INFINITE);
        GetExitCodeProcess(pi.process, &mut code)
    });
    // SAFETY: the two handles CreateProcessW returned, closed once.
    unsafe {
        CloseHandle(pi.thread);
        CloseHandle(pi.process);
    }
    if got == 0 {
        return Err(String::from("GetExitCodeProcess failed"));
    }
    Ok(Exit::Code(code as i32))
}
