//! The few OS calls the e2e programs make themselves (blocking reads on a pipe, a sleep in the
//! kernel, the thread id, resident memory), per OS, so the same programs run on linux and windows.
//! Blocking ones go through `gort::syscall::blocking`, which hands the P off while they block.
#![no_std]

#[cfg(target_os = "linux")]
mod imp {
    use gort::arch::{nr, syscall6};

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

    /// Resident set size in KB (VmRSS of /proc/self/status), 0 if unknown.
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
}

pub use imp::*;
