//! The few OS services the e2e programs call directly (pipes, raw reads and writes, sleeping in
//! the kernel, thread ids, exec), one implementation per OS, shared by the programs through
//! `#[path = "../osdep.rs"] mod osdep;`. Linux: raw system calls (`gort::arch::syscall6`), as the
//! programs always did. darwin: libSystem (darwin has no stable system call ABI); the symbols are
//! listed in linker/libSystem.tbd. Errors come back as negative errno values on both.
#![allow(dead_code)]

#[cfg(target_os = "linux")]
mod imp {
    use gort::arch::{nr, syscall6};

    /// This program's own executable, for re-exec.
    pub fn self_exe() -> &'static [u8] {
        b"/proc/self/exe\0"
    }

    /// A pipe: (read end, write end).
    pub fn pipe() -> Result<(usize, usize), isize> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two fds.
        let r = unsafe { syscall6(nr::PIPE2, fds.as_mut_ptr() as usize, 0, 0, 0, 0, 0) };
        if r == 0 {
            Ok((fds[0] as usize, fds[1] as usize))
        } else {
            Err(r)
        }
    }

    /// read(2); bytes read or -errno.
    pub fn read(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: buf is writable for its length.
        unsafe { syscall6(nr::READ, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) }
    }

    /// write(2); bytes written or -errno.
    pub fn write(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: buf is readable for its length.
        unsafe { syscall6(nr::WRITE, fd, buf.as_ptr() as usize, buf.len(), 0, 0, 0) }
    }

    /// Sleeps the calling thread in the kernel (nanosleep(2)).
    pub fn nanosleep(ns: u64) {
        let ts = [(ns / 1_000_000_000) as usize, (ns % 1_000_000_000) as usize];
        // SAFETY: ts is a valid timespec.
        unsafe { syscall6(nr::NANOSLEEP, ts.as_ptr() as usize, 0, 0, 0, 0, 0) };
    }

    /// The calling thread's kernel id.
    pub fn gettid() -> usize {
        // SAFETY: gettid takes no arguments.
        unsafe { syscall6(nr::GETTID, 0, 0, 0, 0, 0, 0) as usize }
    }

    /// Resident set size in KB (VmRSS of /proc/self/status).
    pub fn rss_kb() -> u64 {
        let mut buf = [0u8; 4096];
        let n = gort::sys::readfile(b"/proc/self/status\0", &mut buf);
        let s = core::str::from_utf8(&buf[..n.max(0) as usize]).unwrap_or("");
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// execve(2); returns -errno on failure.
    ///
    /// # Safety
    /// `path` is NUL-terminated; `argv` and `envp` are NULL-terminated arrays of C strings.
    pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> isize {
        // SAFETY: forwarded to the caller.
        unsafe { syscall6(nr::EXECVE, path as usize, argv as usize, envp as usize, 0, 0, 0) }
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use core::ffi::{c_char, c_int, c_void};

    /// The libSystem functions used here (listed in linker/libSystem.tbd).
    mod ls {
        use core::ffi::{c_char, c_int, c_void};
        #[link(name = "System", kind = "dylib")]
        unsafe extern "C" {
            pub fn __error() -> *mut c_int;
            pub fn pipe(fds: *mut c_int) -> c_int;
            pub fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
            pub fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
            pub fn nanosleep(req: *const [isize; 2], rem: *mut [isize; 2]) -> c_int;
            pub fn pthread_threadid_np(t: usize, id: *mut u64) -> c_int;
            pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
            pub fn getrusage(who: c_int, usage: *mut [i64; 18]) -> c_int;
        }
    }

    /// r, or -errno when r is -1.
    fn ret(r: isize) -> isize {
        if r == -1 {
            // SAFETY: __error returns this thread's errno slot.
            -(unsafe { *ls::__error() } as isize)
        } else {
            r
        }
    }

    /// This program's own executable, for re-exec: argv[0] (NUL-terminated in place), since darwin
    /// has no /proc; e2e cases start programs by path.
    pub fn self_exe() -> &'static [u8] {
        let a0 = gort::os::args().first().copied().unwrap_or(b"");
        // SAFETY: argv[0] is a C string: its NUL follows the bytes gort::os::args returns.
        unsafe { core::slice::from_raw_parts(a0.as_ptr(), a0.len() + 1) }
    }

    /// A pipe: (read end, write end).
    pub fn pipe() -> Result<(usize, usize), isize> {
        let mut fds = [0 as c_int; 2];
        // SAFETY: pipe writes two fds.
        let r = ret(unsafe { ls::pipe(fds.as_mut_ptr()) } as isize);
        if r == 0 {
            Ok((fds[0] as usize, fds[1] as usize))
        } else {
            Err(r)
        }
    }

    /// read(2); bytes read or -errno.
    pub fn read(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: buf is writable for its length.
        ret(unsafe { ls::read(fd as c_int, buf.as_mut_ptr() as *mut c_void, buf.len()) })
    }

    /// write(2); bytes written or -errno.
    pub fn write(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: buf is readable for its length.
        ret(unsafe { ls::write(fd as c_int, buf.as_ptr() as *const c_void, buf.len()) })
    }

    /// Sleeps the calling thread in the kernel (nanosleep).
    pub fn nanosleep(ns: u64) {
        let ts = [(ns / 1_000_000_000) as isize, (ns % 1_000_000_000) as isize];
        // SAFETY: ts is a valid timespec.
        unsafe { ls::nanosleep(&ts, core::ptr::null_mut()) };
    }

    /// The calling thread's system-wide id (pthread_threadid_np).
    pub fn gettid() -> usize {
        let mut id = 0u64;
        // SAFETY: 0 is the calling thread; id is writable.
        unsafe { ls::pthread_threadid_np(0, &mut id) };
        id as usize
    }

    /// Resident set size in KB: darwin has no /proc, so this is getrusage's peak (ru_maxrss, in
    /// bytes on darwin), an upper bound of the current RSS.
    pub fn rss_kb() -> u64 {
        let mut ru = [0i64; 18];
        // SAFETY: ru is as large as struct rusage; RUSAGE_SELF = 0.
        if unsafe { ls::getrusage(0, &mut ru) } != 0 {
            return 0;
        }
        // ru_utime and ru_stime (two 16-byte timevals) come first: ru_maxrss is word 4.
        ru[4] as u64 / 1024
    }

    /// execve; returns -errno on failure.
    ///
    /// # Safety
    /// `path` is NUL-terminated; `argv` and `envp` are NULL-terminated arrays of C strings.
    pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> isize {
        // SAFETY: forwarded to the caller.
        ret(unsafe { ls::execve(path as *const c_char, argv as *const *const c_char, envp as *const *const c_char) }
            as isize)
    }
}

pub use imp::*;
