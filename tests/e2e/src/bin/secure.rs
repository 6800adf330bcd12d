//! e2e: secure mode (AT_SECURE). Prints the AT_SECURE value the kernel gave this process (read
//! back from /proc/self/auxv, independently of the runtime) and GOMAXPROCS; the runtime itself
//! must ignore GODEBUG when AT_SECURE is set, as Go does, so a boottrace request stays silent.
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(not(target_os = "linux"))]
fn main() {
    gort::println!("secure: Linux only: AT_SECURE is a Linux auxv entry (read back from /proc/self/auxv)");
    gort::os::exit(3);
}

#[cfg(target_os = "linux")]
use linux::main;

#[cfg(target_os = "linux")]
mod linux {
    use gort_e2e::nr;

    const AT_NULL: usize = 0;
    const AT_SECURE: usize = 23;

    fn at_secure() -> Option<usize> {
        const AT_FDCWD: isize = -100;
        let path = b"/proc/self/auxv\0";
        // SAFETY: path is NUL-terminated; the flags ask for a read-only open.
        let fd = unsafe { gort::syscall::syscall6(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, 0, 0, 0, 0) };
        if fd < 0 {
            return None;
        }
        let mut buf = [0usize; 128];
        // SAFETY: buf is writable for its whole size.
        let n = unsafe {
            gort::syscall::syscall6(
                nr::READ,
                fd as usize,
                buf.as_mut_ptr() as usize,
                core::mem::size_of_val(&buf),
                0,
                0,
                0,
            )
        };
        // SAFETY: fd is ours.
        unsafe { gort::syscall::syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0) };
        let words = (n.max(0) as usize) / core::mem::size_of::<usize>();
        buf[..words].chunks(2).take_while(|kv| kv[0] != AT_NULL).find(|kv| kv[0] == AT_SECURE).map(|kv| kv[1])
    }

    pub fn main() {
        match at_secure() {
            Some(v) => gort::println!("AT_SECURE={}", v),
            None => gort::println!("AT_SECURE=<unreadable>"),
        }
        gort::println!("gomaxprocs={}", gort::gomaxprocs(0));
    }
}
