//! e2e: the runtime copes with an empty argv.
//!
//! Run normally (argv[0] non-empty), the program re-executes itself through a raw `execve`
//! with argv = {NULL} and envp = {NULL}. The new image sees no arguments and prints
//! `argc=0 args=[] ok envc=0`.
//!
//! Linux >= 5.18 never starts a program with argc == 0: for an empty argv it supplies
//! argv = {""} (and logs "launched with NULL argv: empty string added"). The exec'd image then
//! sees argc == 1 with an empty argv[0] and prints `argc=1 args=[""] ok envc=0 (kernel supplied
//! the empty argv[0])` instead; the e2e case accepts either line. A non-empty argv[0] is what marks
//! the first run, so the second image never execs again.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let args = gort::os::args();
    let envc = gort::os::environ().len();
    match args {
        [] => gort::println!("argc=0 args=[] ok envc={}", envc),
        [[]] => {
            gort::println!("argc=1 args=[\"\"] ok envc={} (kernel supplied the empty argv[0])", envc)
        }
        _ => reexec_with_empty_argv(),
    }
}

/// Windows has no execve and its processes always get a command line: nothing to test (the case
/// is skip-on there).
#[cfg(windows)]
fn reexec_with_empty_argv() {
    gort::eprintln!("argc0: windows has no execve with an empty argv");
    gort::os::exit(1);
}

/// Replaces the process image with argv[0] (darwin has no /proc/self/exe; the harness starts
/// programs by path), argv = {NULL}, envp = {NULL}, through libSystem's execve.
#[cfg(target_os = "macos")]
fn reexec_with_empty_argv() {
    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> i32;
    }
    let a0 = gort::os::args().first().copied().unwrap_or(b"");
    let argv: [*const u8; 1] = [core::ptr::null()];
    let envp: [*const u8; 1] = [core::ptr::null()];
    // SAFETY: argv[0] is NUL-terminated right after the bytes os::args returns; the two arrays
    // are NULL-terminated and outlive the call; on success it does not return.
    let ret = unsafe { execve(a0.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    gort::eprintln!("argc0: execve({}) failed ({})", core::str::from_utf8(a0).unwrap_or("?"), ret);
    gort::os::exit(1);
}

/// Replaces the process image with /proc/self/exe, argv = {NULL}, envp = {NULL}.
#[cfg(target_os = "linux")]
fn reexec_with_empty_argv() {
    static PATH: &[u8] = b"/proc/self/exe\0";
    let argv: [*const u8; 1] = [core::ptr::null()];
    let envp: [*const u8; 1] = [core::ptr::null()];
    // SAFETY: execve(2) reads only the NUL-terminated path and the two NULL-terminated arrays,
    // which outlive the call; on success it does not return.
    let ret = unsafe {
        gort::syscall::raw_syscall6(
            gort_e2e::nr::EXECVE,
            PATH.as_ptr() as usize,
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
            0,
            0,
            0,
        )
    };
    gort::eprintln!("argc0: execve(/proc/self/exe) failed: errno {}", -ret);
    gort::os::exit(1);
}
