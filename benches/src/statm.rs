//! Resident set size from /proc/self/statm (shared by the bench programs with
//! `#[path = "../statm.rs"] mod statm;`).

/// Resident bytes (statm's second field, in 4 KB pages).
pub fn rss_bytes() -> usize {
    use linux_raw_sys::general as nr;
    const AT_FDCWD: isize = -100;
    let path = b"/proc/self/statm\0";
    // SAFETY: NUL-terminated path, read-only open.
    let fd = unsafe {
        gort::syscall::syscall6(nr::__NR_openat as usize, AT_FDCWD as usize, path.as_ptr() as usize, 0, 0, 0, 0)
    };
    assert!(fd >= 0, "open /proc/self/statm failed: {}", fd);
    let mut buf = [0u8; 128];
    // SAFETY: buf is writable.
    let n = unsafe {
        gort::syscall::syscall6(nr::__NR_read as usize, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0)
    };
    // SAFETY: our fd.
    unsafe { gort::syscall::syscall6(nr::__NR_close as usize, fd as usize, 0, 0, 0, 0, 0) };
    let text = core::str::from_utf8(&buf[..n.max(0) as usize]).unwrap_or("");
    text.split(' ').nth(1).and_then(|s| s.parse::<usize>().ok()).unwrap_or(0) * 4096
}
