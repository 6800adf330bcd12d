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

#[path = "../osdep.rs"]
mod osdep;

fn main() {
    let args = gort::os::args();
    let envc = gort::os::environ().len();
    match args {
        [] => gort::println!("argc=0 args=[] ok envc={}", envc),
        [a0] if a0.is_empty() => {
            gort::println!("argc=1 args=[\"\"] ok envc={} (kernel supplied the empty argv[0])", envc)
        }
        _ => reexec_with_empty_argv(),
    }
}

/// Replaces the process image with this program (/proc/self/exe on Linux), argv = {NULL},
/// envp = {NULL}.
fn reexec_with_empty_argv() {
    let path = osdep::self_exe();
    let argv: [*const u8; 1] = [core::ptr::null()];
    let envp: [*const u8; 1] = [core::ptr::null()];
    // SAFETY: execve(2) reads only the NUL-terminated path and the two NULL-terminated arrays,
    // which outlive the call; on success it does not return.
    let ret = unsafe { osdep::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    gort::eprintln!(
        "argc0: execve({}) failed: errno {}",
        core::str::from_utf8(&path[..path.len() - 1]).unwrap_or("?"),
        -ret
    );
    gort::os::exit(1);
}
