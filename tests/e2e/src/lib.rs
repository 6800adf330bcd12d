//! The few OS calls the e2e programs make themselves (blocking reads on a pipe, a sleep in the
//! kernel, the thread id, resident memory), per OS, so the same programs run on linux, windows and
//! darwin (where they go through libSystem: linker/libSystem.tbd lists these symbols too).
//! Blocking ones go through `gort::syscall::blocking`, which hands the P off while they block.
#![no_std]
// `cargo clippy --all-targets` checks this lib as a std test harness too, where gort (which
// brings its own panic handler) cannot be loaded: the lib is empty there.
#![cfg(not(test))]

/// Linux system-call numbers of the target, from linux-raw-sys, as the `usize`s
/// `gort::syscall::syscall6` takes.
#[cfg(target_os = "linux")]
pub mod nr {
    use linux_raw_sys::general as g;
    pub const READ: usize = g::__NR_read as usize;
    pub const WRITE: usize = g::__NR_write as usize;
    pub const OPENAT: usize = g::__NR_openat as usize;
    pub const CLOSE: usize = g::__NR_close as usize;
    pub const PIPE2: usize = g::__NR_pipe2 as usize;
    pub const NANOSLEEP: usize = g::__NR_nanosleep as usize;
    pub const GETTID: usize = g::__NR_gettid as usize;
    pub const FUTEX: usize = g::__NR_futex as usize;
    pub const EXECVE: usize = g::__NR_execve as usize;
    pub const UNLINKAT: usize = g::__NR_unlinkat as usize;
    pub const GETPID: usize = g::__NR_getpid as usize;
}

#[cfg(target_os = "linux")]
mod imp {
    use super::nr;
    use gort::syscall::raw_syscall6 as syscall6;

    /// Reads up to buf.len() bytes of the file at `path` (NUL-terminated); bytes read or -errno.
    /// Raw system calls (the M keeps its P): the files read are /proc's, which never block, and
    /// the cases that count threads call this once per connection: through `syscall6` each call
    /// was three entersyscalls of tens of microseconds that sysmon could retake the P from,
    /// starting Ms for the measurement itself (netserve/echo-10k-p2 saw 10 threads at
    /// GOMAXPROCS=2 in a loaded CI run).
    fn readfile(path: &[u8], buf: &mut [u8]) -> isize {
        const AT_FDCWD: isize = -100;
        // SAFETY: NUL-terminated path, read-only open.
        let fd = unsafe { syscall6(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, 0, 0, 0, 0) };
        if fd < 0 {
            return fd;
        }
        // SAFETY: buf is writable for its length.
        let n = unsafe { syscall6(nr::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) };
        // SAFETY: our fd.
        unsafe { syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0) };
        n
    }

    /// Kernel thread id of the caller.
    pub fn tid() -> usize {
        // SAFETY: gettid takes no arguments.
        unsafe { syscall6(nr::GETTID, 0, 0, 0, 0, 0, 0) as usize }
    }

    /// A pipe: (read end, write end).
    pub fn pipe() -> (usize, usize) {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two fds.
        let r = unsafe { syscall6(nr::PIPE2, fds.as_mut_ptr() as usize, 0, 0, 0, 0, 0) };
        assert!(r == 0, "pipe2 failed: {}", r);
        (fds[0] as usize, fds[1] as usize)
    }

    /// read(2) as a blocking call; bytes read or -errno.
    pub fn read_blocking(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: buf is writable for its length.
        unsafe { gort::syscall::syscall6(nr::READ, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) }
    }

    /// write(2) as a blocking call.
    pub fn write_blocking(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: buf is readable for its length.
        unsafe { gort::syscall::syscall6(nr::WRITE, fd, buf.as_ptr() as usize, buf.len(), 0, 0, 0) }
    }

    /// nanosleep(2) as a blocking call.
    pub fn sleep_blocking_ms(ms: usize) {
        let ts = [ms / 1000, (ms % 1000) * 1_000_000];
        // SAFETY: ts is a valid timespec.
        unsafe { gort::syscall::syscall6(nr::NANOSLEEP, ts.as_ptr() as usize, 0, 0, 0, 0, 0) };
    }

    /// Threads of this process ("Threads:" of /proc/self/status: the kernel's count, whatever
    /// the runtime believes; under qemu-user it includes the emulator's own thread).
    pub fn threads() -> u64 {
        let mut buf = [0u8; 4096];
        let n = readfile(b"/proc/self/status\0", &mut buf);
        assert!(n >= 0, "read /proc/self/status: {n}");
        let s = core::str::from_utf8(&buf[..n as usize]).unwrap_or("");
        s.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).expect("Threads: line")
    }

    /// Resident set size in KB (VmRSS of /proc/self/status), 0 if unknown.
    pub fn rss_kb() -> u64 {
        let mut buf = [0u8; 4096];
        let n = readfile(b"/proc/self/status\0", &mut buf);
        let s = core::str::from_utf8(&buf[..n.max(0) as usize]).unwrap_or("");
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

#[cfg(windows)]
mod imp {
    #[repr(C)]
    #[derive(Default)]
    struct ProcessMemoryCounters {
        cb: u32,
        page_fault_count: u32,
        peak_working_set_size: usize,
        working_set_size: usize,
        quota_peak_paged_pool_usage: usize,
        quota_paged_pool_usage: usize,
        quota_peak_non_paged_pool_usage: usize,
        quota_non_paged_pool_usage: usize,
        pagefile_usage: usize,
        peak_pagefile_usage: usize,
    }

    #[link(name = "kernel32", kind = "raw-dylib")]
    extern "system" {
        fn GetCurrentThreadId() -> u32;
        fn CreatePipe(rd: *mut usize, wr: *mut usize, attrs: usize, size: u32) -> i32;
        fn ReadFile(h: usize, buf: *mut u8, n: u32, read: *mut u32, overlapped: usize) -> i32;
        fn WriteFile(h: usize, buf: *const u8, n: u32, written: *mut u32, overlapped: usize) -> i32;
        fn Sleep(ms: u32);
        fn GetCurrentProcess() -> usize;
        fn K32GetProcessMemoryInfo(p: usize, c: *mut ProcessMemoryCounters, cb: u32) -> i32;
    }

    /// OS thread id of the caller.
    pub fn tid() -> usize {
        // SAFETY: no arguments.
        unsafe { GetCurrentThreadId() as usize }
    }

    /// An anonymous pipe: (read handle, write handle).
    pub fn pipe() -> (usize, usize) {
        let (mut r, mut w) = (0, 0);
        // SAFETY: out-parameters.
        let ok = unsafe { CreatePipe(&mut r, &mut w, 0, 0) };
        assert!(ok != 0, "CreatePipe failed");
        (r, w)
    }

    /// ReadFile as a blocking call; bytes read or -1.
    pub fn read_blocking(h: usize, buf: &mut [u8]) -> isize {
        let mut n = 0u32;
        // SAFETY: buf is writable for its length.
        let ok = gort::syscall::blocking(|| unsafe { ReadFile(h, buf.as_mut_ptr(), buf.len() as u32, &mut n, 0) });
        if ok != 0 {
            n as isize
        } else {
            -1
        }
    }

    /// WriteFile as a blocking call.
    pub fn write_blocking(h: usize, buf: &[u8]) -> isize {
        let mut n = 0u32;
        // SAFETY: buf is readable for its length.
        let ok = gort::syscall::blocking(|| unsafe { WriteFile(h, buf.as_ptr(), buf.len() as u32, &mut n, 0) });
        if ok != 0 {
            n as isize
        } else {
            -1
        }
    }

    /// Sleep as a blocking call.
    pub fn sleep_blocking_ms(ms: usize) {
        // SAFETY: plain integer.
        gort::syscall::blocking(|| unsafe { Sleep(ms as u32) });
    }

    /// Working set in KB (K32GetProcessMemoryInfo), 0 if unknown.
    pub fn rss_kb() -> u64 {
        let mut c =
            ProcessMemoryCounters { cb: core::mem::size_of::<ProcessMemoryCounters>() as u32, ..Default::default() };
        // SAFETY: c is a valid PROCESS_MEMORY_COUNTERS with cb set.
        if unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut c, c.cb) } == 0 {
            return 0;
        }
        c.working_set_size as u64 / 1024
    }

    /// Threads of this process (a Toolhelp snapshot: wine keeps one for every process).
    pub fn threads() -> u64 {
        #[repr(C)]
        struct ThreadEntry32 {
            size: u32,
            usage: u32,
            tid: u32,
            owner: u32,
            base_pri: i32,
            delta_pri: i32,
            flags: u32,
        }
        #[link(name = "kernel32", kind = "raw-dylib")]
        extern "system" {
            fn CreateToolhelp32Snapshot(flags: u32, pid: u32) -> usize;
            fn Thread32First(h: usize, e: *mut ThreadEntry32) -> i32;
            fn Thread32Next(h: usize, e: *mut ThreadEntry32) -> i32;
            fn CloseHandle(h: usize) -> i32;
            fn GetCurrentProcessId() -> u32;
        }
        const TH32CS_SNAPTHREAD: u32 = 4;
        // SAFETY: a snapshot handle walked with a correctly sized entry, then closed.
        gort::syscall::blocking(|| unsafe {
            let me = GetCurrentProcessId();
            let h = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
            assert!(h != usize::MAX, "CreateToolhelp32Snapshot failed");
            let mut e = ThreadEntry32 { size: 28, usage: 0, tid: 0, owner: 0, base_pri: 0, delta_pri: 0, flags: 0 };
            let mut n = 0;
            let mut ok = Thread32First(h, &mut e);
            while ok != 0 {
                if e.owner == me {
                    n += 1;
                }
                e.size = 28;
                ok = Thread32Next(h, &mut e);
            }
            CloseHandle(h);
            n
        })
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use core::ffi::{c_int, c_void};

    /// The libSystem functions used here (listed in linker/libSystem.tbd).
    mod ls {
        use core::ffi::{c_int, c_void};
        #[link(name = "System", kind = "dylib")]
        unsafe extern "C" {
            pub fn __error() -> *mut c_int;
            pub fn pipe(fds: *mut c_int) -> c_int;
            pub fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
            pub fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
            pub fn nanosleep(req: *const [isize; 2], rem: *mut [isize; 2]) -> c_int;
            pub fn pthread_threadid_np(t: usize, id: *mut u64) -> c_int;
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

    /// The calling thread's system-wide id (pthread_threadid_np).
    pub fn tid() -> usize {
        let mut id = 0u64;
        // SAFETY: 0 is the calling thread; id is writable.
        unsafe { ls::pthread_threadid_np(0, &mut id) };
        id as usize
    }

    /// A pipe: (read end, write end).
    pub fn pipe() -> (usize, usize) {
        let mut fds = [0 as c_int; 2];
        // SAFETY: pipe writes two fds.
        let r = ret(unsafe { ls::pipe(fds.as_mut_ptr()) } as isize);
        assert!(r == 0, "pipe failed: {}", r);
        (fds[0] as usize, fds[1] as usize)
    }

    /// read as a blocking call; bytes read or -errno.
    pub fn read_blocking(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: buf is writable for its length.
        gort::syscall::blocking(|| ret(unsafe { ls::read(fd as c_int, buf.as_mut_ptr() as *mut c_void, buf.len()) }))
    }

    /// write as a blocking call; bytes written or -errno.
    pub fn write_blocking(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: buf is readable for its length.
        gort::syscall::blocking(|| ret(unsafe { ls::write(fd as c_int, buf.as_ptr() as *const c_void, buf.len()) }))
    }

    /// nanosleep as a blocking call.
    pub fn sleep_blocking_ms(ms: usize) {
        let ts = [(ms / 1000) as isize, ((ms % 1000) * 1_000_000) as isize];
        // SAFETY: ts is a valid timespec.
        gort::syscall::blocking(|| unsafe { ls::nanosleep(&ts, core::ptr::null_mut()) });
    }

    /// Resident set size in KB: darwin has no /proc, so this is getrusage's peak (ru_maxrss, in
    /// bytes on darwin), an upper bound of the current RSS; 0 if unknown.
    pub fn rss_kb() -> u64 {
        let mut ru = [0i64; 18];
        // SAFETY: ru is as large as struct rusage; RUSAGE_SELF = 0.
        if unsafe { ls::getrusage(0, &mut ru) } != 0 {
            return 0;
        }
        // ru_utime and ru_stime (two 16-byte timevals) come first: ru_maxrss is word 4.
        ru[4] as u64 / 1024
    }
}

pub use imp::*;
