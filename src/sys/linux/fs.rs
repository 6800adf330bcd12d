//! linux: files and directories for `gort::fs` (Go's syscall and os packages for linux) through
//! raw system calls: openat, read, write, lseek (`_llseek` on arm), statx (one layout on every
//! arch, unlike `struct stat`; Linux 4.11 or later), fsync, ftruncate, unlinkat, renameat,
//! mkdirat, getdents64, close. Each call blocks the thread: the caller (fs.rs) runs it inside
//! `syscall::blocking`. EINTR is retried here.

use alloc::vec::Vec;

use super::{ftruncate64, lseek64, nr, syscall6, O_DIRECTORY, O_LARGEFILE};
use crate::io::{Error, SeekFrom};
use crate::sys::path::with_cstr;
use crate::sys::unix::kind_of_mode;
use crate::sys::{FileKind, FileStat, OpenHow};

const AT_FDCWD: usize = -100isize as usize;
const AT_REMOVEDIR: usize = 0x200;
const AT_SYMLINK_NOFOLLOW: usize = 0x100;
const AT_EMPTY_PATH: usize = 0x1000;
/// linux's open(2) flag values (the same on amd64, arm64 and arm).
const OPEN_FLAGS: crate::sys::unix::OpenFlags =
    crate::sys::unix::OpenFlags { wronly: 1, rdwr: 2, append: 0o2000, creat: 0o100, trunc: 0o1000, excl: 0o200 };
const O_CLOEXEC: usize = 0o2000000;
const EINTR: isize = 4;
/// Most bytes one read or write asks for (Go's maxRW: 1 GB).
const MAX_RW: usize = 1 << 30;

/// A system call's result as a Result, retrying EINTR.
fn retry(mut call: impl FnMut() -> isize) -> Result<usize, Error> {
    loop {
        let r = call();
        if r == -EINTR {
            continue;
        }
        return if r < 0 { Err(Error::from_raw_os_error(-r as i32)) } else { Ok(r as usize) };
    }
}

/// A path call's result: the path's own error, or the call's.
fn path_call(path: &[u8], call: impl Fn(usize) -> isize) -> Result<usize, Error> {
    with_cstr(path, |p| retry(|| call(p as usize)))?
}

/// The handle of standard input.
pub fn stdin() -> usize {
    0
}

/// Whether `fd` has O_NONBLOCK set (fcntl F_GETFL); false if the fd is not open.
pub fn is_nonblocking(fd: usize) -> bool {
    const F_GETFL: usize = 3;
    const O_NONBLOCK: isize = 0o4000;
    // SAFETY: integer arguments.
    let r = unsafe { syscall6(nr::FCNTL, fd, F_GETFL, 0, 0, 0, 0) };
    r >= 0 && r & O_NONBLOCK != 0
}

/// pipe2(2), close-on-exec and non-blocking (Go's os.Pipe: kindPipe goes to the poller):
/// (read end, write end).
pub fn pipe() -> Result<(usize, usize), Error> {
    const O_NONBLOCK: usize = 0o4000;
    let mut fds = [0i32; 2];
    // SAFETY: fds is valid for the kernel's write of two ints.
    retry(|| unsafe { syscall6(nr::PIPE2, fds.as_mut_ptr() as usize, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0) })?;
    Ok((fds[0] as usize, fds[1] as usize))
}

/// openat(AT_FDCWD, path) with close-on-exec, as Go's os.OpenFile.
pub fn open(path: &[u8], how: &OpenHow) -> Result<usize, Error> {
    let flags = O_CLOEXEC | O_LARGEFILE | OPEN_FLAGS.of(how) as usize;
    // SAFETY (in the closure): p is NUL-terminated for the call; the rest are integers.
    path_call(path, |p| unsafe { syscall6(nr::OPENAT, AT_FDCWD, p, flags, how.mode as usize, 0, 0) })
}

/// read(2): bytes read, 0 at the end of the file.
pub fn read(fd: usize, buf: &mut [u8]) -> Result<usize, Error> {
    let n = buf.len().min(MAX_RW);
    // SAFETY: buf is writable for n bytes.
    retry(|| unsafe { syscall6(nr::READ, fd, buf.as_mut_ptr() as usize, n, 0, 0, 0) })
}

/// write(2): bytes written.
pub fn write(fd: usize, buf: &[u8]) -> Result<usize, Error> {
    let n = buf.len().min(MAX_RW);
    // SAFETY: buf is readable for n bytes.
    retry(|| unsafe { syscall6(nr::WRITE, fd, buf.as_ptr() as usize, n, 0, 0, 0) })
}

/// lseek(2): the new offset.
pub fn seek(fd: usize, pos: SeekFrom) -> Result<u64, Error> {
    let (off, whence) = match pos {
        SeekFrom::Start(n) => (n as i64, 0),
        SeekFrom::Current(n) => (n, 1),
        SeekFrom::End(n) => (n, 2),
    };
    if let SeekFrom::Start(n) = pos {
        if n > i64::MAX as u64 {
            return Err(Error::from_raw_os_error(22)); // EINVAL, as the kernel for a negative offset
        }
    }
    let r = lseek64(fd, off, whence);
    if r < 0 {
        Err(Error::from_raw_os_error(-r as i32))
    } else {
        Ok(r as u64)
    }
}

/// fsync(2).
pub fn sync(fd: usize) -> Result<(), Error> {
    // SAFETY: an integer argument.
    retry(|| unsafe { syscall6(nr::FSYNC, fd, 0, 0, 0, 0, 0) }).map(drop)
}

/// ftruncate(2).
pub fn set_len(fd: usize, len: u64) -> Result<(), Error> {
    let len = i64::try_from(len).map_err(|_| Error::from_raw_os_error(22))?;
    retry(|| ftruncate64(fd, len)).map(drop)
}

/// close(2). An error is reported but the fd is gone either way (Linux frees it even on EINTR).
pub fn close(fd: usize) -> Result<(), Error> {
    // SAFETY: the caller's own fd; integers only.
    let r = unsafe { syscall6(nr::CLOSE, fd, 0, 0, 0, 0, 0) };
    if r < 0 && r != -EINTR {
        Err(Error::from_raw_os_error(-r as i32))
    } else {
        Ok(())
    }
}

/// `struct statx` (256 bytes, the same on every arch), as words.
#[repr(C, align(8))]
struct Statx([u8; 256]);

impl Statx {
    fn u16_at(&self, off: usize) -> u16 {
        u16::from_ne_bytes([self.0[off], self.0[off + 1]])
    }
    fn u32_at(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().unwrap_or([0; 4]))
    }
    fn u64_at(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.0[off..off + 8].try_into().unwrap_or([0; 8]))
    }
    /// stx_mode (28), stx_size (40), stx_mtime (112: i64 seconds, u32 nanoseconds).
    fn stat(&self) -> FileStat {
        let mode = self.u16_at(28) as u32;
        FileStat {
            size: self.u64_at(40),
            kind: kind_of_mode(mode),
            mode: mode & 0o7777,
            mtime_sec: self.u64_at(112) as i64,
            mtime_nsec: self.u32_at(120),
        }
    }
}

/// statx(dirfd, path, flags) for the basic fields.
fn statx(dirfd: usize, path: *const u8, flags: usize) -> Result<FileStat, Error> {
    const STATX_BASIC_STATS: usize = 0x7ff;
    let mut st = Statx([0; 256]);
    // SAFETY: path is NUL-terminated; st is 256 writable bytes, statx's size.
    retry(|| unsafe {
        syscall6(nr::STATX, dirfd, path as usize, flags, STATX_BASIC_STATS, &mut st as *mut Statx as usize, 0)
    })?;
    Ok(st.stat())
}

/// The status of an open file.
pub fn fstat(fd: usize) -> Result<FileStat, Error> {
    statx(fd, c"".as_ptr().cast(), AT_EMPTY_PATH)
}

/// The status of the file at `path`, following symbolic links.
pub fn stat(path: &[u8]) -> Result<FileStat, Error> {
    with_cstr(path, |p| statx(AT_FDCWD, p, 0))?
}

/// unlinkat(AT_FDCWD, path, 0).
pub fn unlink(path: &[u8]) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { syscall6(nr::UNLINKAT, AT_FDCWD, p, 0, 0, 0, 0) }).map(drop)
}

/// unlinkat(AT_FDCWD, path, AT_REMOVEDIR).
pub fn rmdir(path: &[u8]) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { syscall6(nr::UNLINKAT, AT_FDCWD, p, AT_REMOVEDIR, 0, 0, 0) }).map(drop)
}

/// mkdirat(AT_FDCWD, path, mode).
pub fn mkdir(path: &[u8], mode: u32) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { syscall6(nr::MKDIRAT, AT_FDCWD, p, mode as usize, 0, 0, 0) }).map(drop)
}

/// renameat(AT_FDCWD, from, AT_FDCWD, to): replaces `to` if it exists.
pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Error> {
    with_cstr(from, |f| {
        // SAFETY (in the closure): f and t are NUL-terminated for the call.
        with_cstr(to, |t| retry(|| unsafe { syscall6(nr::RENAMEAT, AT_FDCWD, f as usize, AT_FDCWD, t as usize, 0, 0) }))
    })???;
    Ok(())
}

/// An open directory being listed with getdents64.
#[derive(Debug)]
pub struct Dir {
    fd: usize,
    buf: Vec<u8>,
    /// Parsed up to here in `buf[..len]`.
    pos: usize,
    len: usize,
}

/// Size of the getdents64 buffer (Go's blockSize is 8 KB).
const DIRBUF: usize = 8192;

impl Dir {
    /// Opens the directory at `path` for listing (NotADirectory for a file).
    pub fn open(path: &[u8]) -> Result<Dir, Error> {
        let flags = O_CLOEXEC | O_LARGEFILE | O_DIRECTORY;
        // SAFETY (in the closure): p is NUL-terminated for the call.
        let fd = path_call(path, |p| unsafe { syscall6(nr::OPENAT, AT_FDCWD, p, flags, 0, 0, 0) })?;
        Ok(Dir { fd, buf: alloc::vec![0; DIRBUF], pos: 0, len: 0 })
    }

    /// The next entry but `.` and `..`: its name and kind; None at the end.
    pub fn next(&mut self) -> Option<Result<(Vec<u8>, FileKind), Error>> {
        loop {
            if self.pos >= self.len {
                let (fd, p) = (self.fd, self.buf.as_mut_ptr() as usize);
                // SAFETY: buf is DIRBUF writable bytes.
                match retry(|| unsafe { syscall6(nr::GETDENTS64, fd, p, DIRBUF, 0, 0, 0) }) {
                    Err(e) => return Some(Err(e)),
                    Ok(0) => return None,
                    Ok(n) => (self.pos, self.len) = (0, n),
                }
            }
            let Some(ent) = parse_dirent(&self.buf[..self.len], &mut self.pos) else {
                // A malformed record: the kernel's buffer is never that, but stop rather than loop.
                self.pos = self.len;
                return Some(Err(Error::new(crate::io::ErrorKind::InvalidData, "malformed directory entry")));
            };
            if ent.name == b"." || ent.name == b".." {
                continue;
            }
            let kind = match ent.d_type {
                DT_REG => FileKind::File,
                DT_DIR => FileKind::Dir,
                DT_LNK => FileKind::Symlink,
                DT_UNKNOWN => {
                    // Some file systems do not say: ask (without following a link), as Go does.
                    let r = with_cstr(ent.name, |p| statx(self.fd, p, AT_SYMLINK_NOFOLLOW));
                    match r {
                        Ok(Ok(st)) => st.kind,
                        Ok(Err(e)) | Err(e) => return Some(Err(e)),
                    }
                }
                _ => FileKind::Other,
            };
            return Some(Ok((ent.name.to_vec(), kind)));
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = close(self.fd);
    }
}

const DT_UNKNOWN: u8 = 0;
const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;

/// One `struct linux_dirent64` record.
#[derive(Debug, PartialEq)]
struct Dirent<'a> {
    name: &'a [u8],
    d_type: u8,
}

/// Parses the record at `*pos` of a getdents64 buffer and moves `*pos` past it: `d_ino` (8),
/// `d_off` (8), `d_reclen` (2), `d_type` (1), then the NUL-terminated name, padded to 8. None if
/// the record does not fit in `buf` or has no NUL.
fn parse_dirent<'a>(buf: &'a [u8], pos: &mut usize) -> Option<Dirent<'a>> {
    let rec = buf.get(*pos..)?;
    let reclen = u16::from_ne_bytes([*rec.get(16)?, *rec.get(17)?]) as usize;
    if reclen < 20 || reclen > rec.len() {
        return None;
    }
    let d_type = rec[18];
    let name = &rec[19..reclen];
    let nul = name.iter().position(|&b| b == 0)?;
    *pos += reclen;
    Some(Dirent { name: &name[..nul], d_type })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &[u8], d_type: u8) -> Vec<u8> {
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        let mut r = alloc::vec![0u8; reclen];
        r[0..8].copy_from_slice(&42u64.to_ne_bytes());
        r[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        r[18] = d_type;
        r[19..19 + name.len()].copy_from_slice(name);
        r
    }

    #[test]
    fn parses_getdents64_records() {
        let mut buf = record(b".", DT_DIR);
        buf.extend(record(b"a-file", DT_REG));
        buf.extend(record(b"exactly8", DT_LNK)); // 19 + 8 + 1 = 28 -> 32
        buf.extend(record(&[0xff, b'x'], DT_UNKNOWN));
        let mut pos = 0;
        let mut got = Vec::new();
        while let Some(d) = parse_dirent(&buf, &mut pos) {
            got.push((d.name.to_vec(), d.d_type));
        }
        assert_eq!(pos, buf.len());
        assert_eq!(
            got,
            [
                (b".".to_vec(), DT_DIR),
                (b"a-file".to_vec(), DT_REG),
                (b"exactly8".to_vec(), DT_LNK),
                (alloc::vec![0xff, b'x'], DT_UNKNOWN)
            ]
        );
    }

    #[test]
    fn rejects_malformed_records() {
        let good = record(b"name", DT_REG);
        // Cut short, a zero or tiny reclen, a reclen past the buffer, no NUL in the name.
        let mut zero = good.clone();
        zero[16..18].copy_from_slice(&0u16.to_ne_bytes());
        let mut long = good.clone();
        long[16..18].copy_from_slice(&200u16.to_ne_bytes());
        let mut no_nul = good.clone();
        for b in &mut no_nul[19..] {
            *b = b'z';
        }
        for bad in [&good[..10], &good[..good.len() - 1], &zero, &long, &no_nul] {
            let mut pos = 0;
            assert_eq!(parse_dirent(bad, &mut pos), None);
            assert_eq!(pos, 0);
        }
    }

    #[test]
    fn statx_fields() {
        let mut st = Statx([0; 256]);
        st.0[28..30].copy_from_slice(&0o100644u16.to_ne_bytes());
        st.0[40..48].copy_from_slice(&12345u64.to_ne_bytes());
        st.0[112..120].copy_from_slice(&(-5i64).to_ne_bytes());
        st.0[120..124].copy_from_slice(&999u32.to_ne_bytes());
        let s = st.stat();
        assert_eq!((s.size, s.kind, s.mode, s.mtime_sec, s.mtime_nsec), (12345, FileKind::File, 0o644, -5, 999));
        assert_eq!(kind_of_mode(0o040755), FileKind::Dir);
        assert_eq!(kind_of_mode(0o120777), FileKind::Symlink);
        assert_eq!(kind_of_mode(0o020666), FileKind::Other);
    }
}
