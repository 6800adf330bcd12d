//! darwin: files and directories for `gort::fs` (Go's syscall and os packages for darwin)
//! through libSystem: open, read, write, lseek, fstat/stat/fstatat (the 64-bit-inode layout; the
//! per-arch symbols are in `darwin/<arch>.rs`'s `stat_calls`), fsync, ftruncate, unlink, rename,
//! mkdir, rmdir, fdopendir/readdir_r/closedir, close. Each call blocks the thread: the caller
//! (fs.rs) runs it inside `syscall::blocking`. EINTR is retried here. Built and linked, never run
//! (README "Targets"); `linker/libSystem.tbd` lists the symbols.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

use super::arch::stat_calls;
use super::errno;
use crate::io::{Error, SeekFrom};
use crate::sys::path::with_cstr;
use crate::sys::{FileKind, FileStat, OpenHow};

mod ls {
    use core::ffi::{c_char, c_int, c_uint, c_void};

    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        pub fn open(path: *const c_char, flags: c_int, ...) -> c_int;
        pub fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
        pub fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
        pub fn lseek(fd: c_int, off: i64, whence: c_int) -> i64;
        pub fn fsync(fd: c_int) -> c_int;
        pub fn ftruncate(fd: c_int, len: i64) -> c_int;
        pub fn close(fd: c_int) -> c_int;
        pub fn unlink(path: *const c_char) -> c_int;
        pub fn rmdir(path: *const c_char) -> c_int;
        pub fn mkdir(path: *const c_char, mode: u16) -> c_int;
        pub fn rename(from: *const c_char, to: *const c_char) -> c_int;
        pub fn closedir(dir: *mut c_void) -> c_int;
        pub fn pipe(fds: *mut c_int) -> c_int;
    }
    /// The mode argument of open, as C's default promotion passes it.
    pub type Mode = c_uint;
}

/// pipe(2): (read end, write end), blocking (darwin has no poller for pipes yet: they are read
/// and written through entersyscall). Not close-on-exec: gort starts no processes.
pub fn pipe() -> Result<(usize, usize), Error> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds is valid for libSystem's write of two ints.
    retry(|| unsafe { ls::pipe(fds.as_mut_ptr()) } as isize)?;
    Ok((fds[0] as usize, fds[1] as usize))
}

/// darwin's open(2) flag values.
const OPEN_FLAGS: crate::sys::unix::OpenFlags =
    crate::sys::unix::OpenFlags { wronly: 0x1, rdwr: 0x2, append: 0x8, creat: 0x200, trunc: 0x400, excl: 0x800 };
const O_DIRECTORY: c_int = 0x10_0000;
const O_CLOEXEC: c_int = 0x100_0000;
const AT_SYMLINK_NOFOLLOW: c_int = 0x20;
const EINTR: isize = 4;
const EINVAL: i32 = 22;
/// Most bytes one read or write asks for (Go's maxRW: 1 GB).
const MAX_RW: usize = 1 << 30;

/// Runs a libSystem call that returns -1 and sets errno on failure, retrying EINTR.
fn retry(mut call: impl FnMut() -> isize) -> Result<usize, Error> {
    loop {
        let r = call();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = errno();
        if e != EINTR {
            return Err(Error::from_raw_os_error(e as i32));
        }
    }
}

/// A path call's result: the path's own error, or the call's.
fn path_call(path: &[u8], call: impl Fn(*const c_char) -> isize) -> Result<usize, Error> {
    with_cstr(path, |p| retry(|| call(p.cast())))?
}

/// The handle of standard input.
pub fn stdin() -> usize {
    0
}

/// open(2) with close-on-exec, as Go's os.OpenFile.
pub fn open(path: &[u8], how: &OpenHow) -> Result<usize, Error> {
    let flags = O_CLOEXEC | OPEN_FLAGS.of(how) as c_int;
    let mode = how.mode as ls::Mode;
    // SAFETY (in the closure): p is NUL-terminated for the call; the mode is the variadic int.
    path_call(path, |p| unsafe { ls::open(p, flags, mode) } as isize)
}

/// read(2): bytes read, 0 at the end of the file.
pub fn read(fd: usize, buf: &mut [u8]) -> Result<usize, Error> {
    let n = buf.len().min(MAX_RW);
    // SAFETY: buf is writable for n bytes.
    retry(|| unsafe { ls::read(fd as c_int, buf.as_mut_ptr().cast(), n) })
}

/// write(2): bytes written.
pub fn write(fd: usize, buf: &[u8]) -> Result<usize, Error> {
    let n = buf.len().min(MAX_RW);
    // SAFETY: buf is readable for n bytes.
    retry(|| unsafe { ls::write(fd as c_int, buf.as_ptr().cast(), n) })
}

/// lseek(2): the new offset.
pub fn seek(fd: usize, pos: SeekFrom) -> Result<u64, Error> {
    let (off, whence) = match pos {
        SeekFrom::Start(n) => (i64::try_from(n).map_err(|_| Error::from_raw_os_error(EINVAL))?, 0),
        SeekFrom::Current(n) => (n, 1),
        SeekFrom::End(n) => (n, 2),
    };
    // SAFETY: integers only.
    let r = unsafe { ls::lseek(fd as c_int, off, whence) };
    if r < 0 {
        Err(Error::from_raw_os_error(errno() as i32))
    } else {
        Ok(r as u64)
    }
}

/// fsync(2) (Go's File.Sync uses F_FULLFSYNC on darwin, which also flushes the drive's cache;
/// fsync hands the data to the drive).
pub fn sync(fd: usize) -> Result<(), Error> {
    // SAFETY: an integer argument.
    retry(|| unsafe { ls::fsync(fd as c_int) } as isize).map(drop)
}

/// ftruncate(2).
pub fn set_len(fd: usize, len: u64) -> Result<(), Error> {
    let len = i64::try_from(len).map_err(|_| Error::from_raw_os_error(EINVAL))?;
    // SAFETY: integers only.
    retry(|| unsafe { ls::ftruncate(fd as c_int, len) } as isize).map(drop)
}

/// close(2); the fd is gone either way.
pub fn close(fd: usize) -> Result<(), Error> {
    // SAFETY: the caller's own fd.
    if unsafe { ls::close(fd as c_int) } < 0 && errno() != EINTR {
        return Err(Error::from_raw_os_error(errno() as i32));
    }
    Ok(())
}

/// `struct stat` with 64-bit inodes (144 bytes): st_mode (u16) at 4, st_mtimespec at 48,
/// st_size at 96.
#[repr(C, align(8))]
struct Stat([u8; 144]);

impl Stat {
    fn stat(&self) -> FileStat {
        let b = &self.0;
        let word = |off: usize| i64::from_ne_bytes(b[off..off + 8].try_into().unwrap_or([0; 8]));
        let mode = u16::from_ne_bytes([b[4], b[5]]) as u32;
        FileStat {
            size: word(96) as u64,
            kind: crate::sys::unix::kind_of_mode(mode),
            mode: mode & 0o7777,
            mtime_sec: word(48),
            mtime_nsec: word(56) as u32,
        }
    }
}

/// The status of an open file.
pub fn fstat(fd: usize) -> Result<FileStat, Error> {
    let mut st = Stat([0; 144]);
    // SAFETY: st is the 144-byte buffer the 64-bit-inode fstat fills.
    retry(|| unsafe { stat_calls::fstat(fd as c_int, (&mut st as *mut Stat).cast()) } as isize)?;
    Ok(st.stat())
}

/// The status of the file at `path`, following symbolic links.
pub fn stat(path: &[u8]) -> Result<FileStat, Error> {
    let mut st = Stat([0; 144]);
    let stp: *mut c_void = (&mut st as *mut Stat).cast();
    // SAFETY (in the closure): p is NUL-terminated; stp is the 144-byte buffer stat fills.
    path_call(path, |p| unsafe { stat_calls::stat(p, stp) } as isize)?;
    Ok(st.stat())
}

/// unlink(2).
pub fn unlink(path: &[u8]) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { ls::unlink(p) } as isize).map(drop)
}

/// rmdir(2).
pub fn rmdir(path: &[u8]) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { ls::rmdir(p) } as isize).map(drop)
}

/// mkdir(2).
pub fn mkdir(path: &[u8], mode: u32) -> Result<(), Error> {
    // SAFETY (in the closure): p is NUL-terminated for the call.
    path_call(path, |p| unsafe { ls::mkdir(p, mode as u16) } as isize).map(drop)
}

/// rename(2): replaces `to` if it exists.
pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Error> {
    with_cstr(from, |f| {
        // SAFETY (in the closure): f and t are NUL-terminated for the call.
        with_cstr(to, |t| retry(|| unsafe { ls::rename(f.cast(), t.cast()) } as isize))
    })???;
    Ok(())
}

/// `struct dirent` with 64-bit inodes: d_ino (8), d_seekoff (8), d_reclen (2), d_namlen (2),
/// d_type (1), d_name[1024]: 1048 bytes.
#[repr(C, align(8))]
struct Dirent([u8; 1048]);

const DT_UNKNOWN: u8 = 0;
const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;

/// A directory being listed with readdir_r (as Go does on darwin).
pub struct Dir {
    fd: c_int,
    dir: *mut c_void,
    entry: Box<Dirent>,
}

// SAFETY: the DIR stream is used by one thread at a time (Dir is not Sync; `next` takes &mut
// self), and libSystem's DIR has no thread affinity: moving it between threads is fine.
unsafe impl Send for Dir {}

impl core::fmt::Debug for Dir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dir").field("fd", &self.fd).finish()
    }
}

impl Dir {
    /// Opens the directory at `path` for listing (NotADirectory for a file).
    pub fn open(path: &[u8]) -> Result<Dir, Error> {
        let flags = O_CLOEXEC | O_DIRECTORY;
        // SAFETY (in the closure): p is NUL-terminated for the call.
        let fd = path_call(path, |p| unsafe { ls::open(p, flags, 0 as ls::Mode) } as isize)? as c_int;
        // SAFETY: fd is our open directory; fdopendir takes it over.
        let dir = unsafe { stat_calls::fdopendir(fd) };
        if dir.is_null() {
            let e = Error::from_raw_os_error(errno() as i32);
            let _ = close(fd as usize);
            return Err(e);
        }
        Ok(Dir { fd, dir, entry: Box::new(Dirent([0; 1048])) })
    }

    /// The next entry but `.` and `..`: its name and kind; None at the end.
    pub fn next(&mut self) -> Option<Result<(Vec<u8>, FileKind), Error>> {
        loop {
            let mut result: *mut c_void = core::ptr::null_mut();
            // SAFETY: dir is our open stream; entry is a whole dirent; result is an out-parameter.
            let e = unsafe { stat_calls::readdir_r(self.dir, (&mut *self.entry as *mut Dirent).cast(), &mut result) };
            if e != 0 {
                return Some(Err(Error::from_raw_os_error(e)));
            }
            if result.is_null() {
                return None;
            }
            let b = &self.entry.0;
            let namlen = (u16::from_ne_bytes([b[18], b[19]]) as usize).min(1024);
            let name = &b[21..21 + namlen];
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match b[20] {
                DT_REG => FileKind::File,
                DT_DIR => FileKind::Dir,
                DT_LNK => FileKind::Symlink,
                DT_UNKNOWN => {
                    let mut st = Stat([0; 144]);
                    let stp: *mut c_void = (&mut st as *mut Stat).cast();
                    let fd = self.fd;
                    // SAFETY (in the closure): p is NUL-terminated; stp is a whole stat buffer.
                    let r =
                        path_call(name, |p| unsafe { stat_calls::fstatat(fd, p, stp, AT_SYMLINK_NOFOLLOW) } as isize);
                    match r {
                        Ok(_) => st.stat().kind,
                        Err(e) => return Some(Err(e)),
                    }
                }
                _ => FileKind::Other,
            };
            return Some(Ok((name.to_vec(), kind)));
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: our stream, closed once (it closes the fd too).
        unsafe { ls::closedir(self.dir) };
    }
}
