//! windows: files and directories for `gort::fs` (Go's syscall and os packages for windows)
//! through kernel32: CreateFileW (paths converted from UTF-8/WTF-8 to UTF-16 by `sys/path.rs`),
//! ReadFile, WriteFile, SetFilePointerEx, GetFileInformationByHandle, FlushFileBuffers,
//! SetFileInformationByHandle (the end of file), DeleteFileW, MoveFileExW, CreateDirectoryW,
//! RemoveDirectoryW, FindFirstFileW/FindNextFileW/FindClose, CloseHandle. Each call blocks the
//! thread: the caller (fs.rs) runs it inside `syscall::blocking`.
//!
//! Standard input is read with ReadFile, which gives a console's bytes in the console's code
//! page (Go reads a console with ReadConsoleW and converts to UTF-8; gort does not yet).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{CloseHandle, GetLastError, GetStdHandle, Handle, WriteFile};
use crate::io::{Error, ErrorKind, SeekFrom};
use crate::sys::path::with_wide;
use crate::sys::winargs::wtf8_encode;
use crate::sys::{FileKind, FileStat, OpenHow};

type Bool = i32;

/// FILETIME and the like: two 32-bit halves, low first.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FileTime {
    low: u32,
    high: u32,
}

/// BY_HANDLE_FILE_INFORMATION.
#[repr(C)]
#[derive(Default)]
struct ByHandleFileInformation {
    attributes: u32,
    creation: FileTime,
    access: FileTime,
    write: FileTime,
    volume_serial: u32,
    size_high: u32,
    size_low: u32,
    links: u32,
    index_high: u32,
    index_low: u32,
}

/// WIN32_FIND_DATAW.
#[repr(C)]
struct Win32FindDataW {
    attributes: u32,
    creation: FileTime,
    access: FileTime,
    write: FileTime,
    size_high: u32,
    size_low: u32,
    reserved0: u32,
    reserved1: u32,
    file_name: [u16; 260],
    alternate_file_name: [u16; 14],
}

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn CreateFileW(
        name: *const u16,
        access: u32,
        share: u32,
        sa: usize,
        disposition: u32,
        flags: u32,
        template: Handle,
    ) -> Handle;
    fn ReadFile(h: Handle, buf: *mut u8, n: u32, read: *mut u32, overlapped: usize) -> Bool;
    fn CreatePipe(read: *mut Handle, write: *mut Handle, sa: usize, size: u32) -> Bool;
    fn SetFilePointerEx(h: Handle, distance: i64, new_pos: *mut i64, method: u32) -> Bool;
    fn GetFileInformationByHandle(h: Handle, info: *mut ByHandleFileInformation) -> Bool;
    fn SetFileInformationByHandle(h: Handle, class: u32, info: *const u8, size: u32) -> Bool;
    fn FlushFileBuffers(h: Handle) -> Bool;
    fn DeleteFileW(name: *const u16) -> Bool;
    fn MoveFileExW(from: *const u16, to: *const u16, flags: u32) -> Bool;
    fn CreateDirectoryW(name: *const u16, sa: usize) -> Bool;
    fn RemoveDirectoryW(name: *const u16) -> Bool;
    fn FindFirstFileW(pattern: *const u16, data: *mut Win32FindDataW) -> Handle;
    fn FindNextFileW(h: Handle, data: *mut Win32FindDataW) -> Bool;
    fn FindClose(h: Handle) -> Bool;
}

const INVALID_HANDLE_VALUE: Handle = usize::MAX;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const FILE_APPEND_DATA: u32 = 0x4;
const FILE_WRITE_ATTRIBUTES: u32 = 0x100;
const FILE_READ_ATTRIBUTES: u32 = 0x80;
const SYNCHRONIZE: u32 = 0x0010_0000;
const FILE_SHARE_ALL: u32 = 1 | 2 | 4; // read, write, delete: files behave as on unix
const CREATE_NEW: u32 = 1;
const CREATE_ALWAYS: u32 = 2;
const OPEN_EXISTING: u32 = 3;
const OPEN_ALWAYS: u32 = 4;
const TRUNCATE_EXISTING: u32 = 5;
const FILE_ATTRIBUTE_READONLY: u32 = 0x1;
const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x10;
const FILE_ATTRIBUTE_DEVICE: u32 = 0x40;
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
const MOVEFILE_REPLACE_EXISTING: u32 = 1;
const FILE_END_OF_FILE_INFO: u32 = 6;
const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;
const IO_REPARSE_TAG_MOUNT_POINT: u32 = 0xA000_0003;
const ERROR_FILE_NOT_FOUND: i32 = 2;
const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_INVALID_PARAMETER: i32 = 87;
const ERROR_HANDLE_EOF: u32 = 38;
const ERROR_BROKEN_PIPE: u32 = 109;
const ERROR_NO_MORE_FILES: u32 = 18;
const ERROR_DIRECTORY: i32 = 267;
/// Most bytes one ReadFile or WriteFile asks for (Go's maxRW: 1 GB).
const MAX_RW: usize = 1 << 30;
/// 100-ns intervals from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// The calling thread's last error as an Error.
fn last_error() -> Error {
    // SAFETY: no arguments.
    Error::from_raw_os_error(unsafe { GetLastError() } as i32)
}

/// Ok(()) if `ok` is TRUE, else the last error.
fn check(ok: Bool) -> Result<(), Error> {
    if ok != 0 {
        Ok(())
    } else {
        Err(last_error())
    }
}

/// The handle of standard input (GetStdHandle(STD_INPUT_HANDLE)).
pub fn stdin() -> usize {
    const STD_INPUT_HANDLE: u32 = -10i32 as u32;
    // SAFETY: GetStdHandle takes a constant.
    unsafe { GetStdHandle(STD_INPUT_HANDLE) }
}

/// CreateFileW with Go's mapping of the open flags.
pub fn open(path: &[u8], how: &OpenHow) -> Result<usize, Error> {
    let mut access = 0;
    if how.read {
        access |= GENERIC_READ;
    }
    if how.write {
        access |= GENERIC_WRITE;
    }
    if how.append {
        // Writes go to the end: the handle may append but not write elsewhere (Go's O_APPEND,
        // which drops GENERIC_WRITE even when writing was asked for too).
        access &= !GENERIC_WRITE;
        access |= FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE;
    }
    let disposition = match (how.create_new, how.create, how.truncate) {
        (true, _, _) => CREATE_NEW,
        (false, true, true) => CREATE_ALWAYS,
        (false, true, false) => OPEN_ALWAYS,
        (false, false, true) => TRUNCATE_EXISTING,
        (false, false, false) => OPEN_EXISTING,
    };
    let writes = how.write || how.append;
    let mut attrs = FILE_ATTRIBUTE_NORMAL;
    if !writes {
        attrs |= FILE_FLAG_BACKUP_SEMANTICS; // a directory opens too, read-only (Go's openDir)
    }
    if (how.create || how.create_new) && how.mode & 0o200 == 0 {
        attrs |= FILE_ATTRIBUTE_READONLY;
    }
    open_raw(path, access, disposition, attrs).map_err(|e| {
        // A directory opened for writing: Go's EISDIR, rather than windows' access denied.
        if writes
            && e.raw_os_error() == Some(ERROR_ACCESS_DENIED)
            && stat(path).is_ok_and(|st| st.kind == FileKind::Dir)
        {
            Error::new(ErrorKind::IsADirectory, "is a directory")
        } else {
            e
        }
    })
}

fn open_raw(path: &[u8], access: u32, disposition: u32, attrs: u32) -> Result<usize, Error> {
    // SAFETY: p is a NUL-terminated UTF-16 string for the call; no security attributes or
    // template.
    let h = with_wide(path, |p| unsafe { CreateFileW(p, access, FILE_SHARE_ALL, 0, disposition, attrs, 0) })?;
    if h == INVALID_HANDLE_VALUE {
        Err(last_error())
    } else {
        Ok(h)
    }
}

/// CreatePipe: (read end, write end), anonymous and synchronous, not inheritable (Go's os.Pipe
/// on windows: reads and writes block the thread, inside entersyscall).
pub fn pipe() -> Result<(usize, usize), Error> {
    let (mut r, mut w): (Handle, Handle) = (0, 0);
    // SAFETY: r and w are valid out-parameters; no security attributes (not inheritable).
    if unsafe { CreatePipe(&mut r, &mut w, 0, 0) } == 0 {
        // SAFETY: no arguments.
        return Err(last_error());
    }
    Ok((r, w))
}

/// ReadFile: bytes read, 0 at the end (also for a pipe whose writer closed, as Go).
pub fn read(h: usize, buf: &mut [u8]) -> Result<usize, Error> {
    let mut n = 0u32;
    let want = buf.len().min(MAX_RW) as u32;
    // SAFETY: buf is writable for `want` bytes; n is an out-parameter; no OVERLAPPED.
    if unsafe { ReadFile(h, buf.as_mut_ptr(), want, &mut n, 0) } == 0 {
        // SAFETY: no arguments.
        let e = unsafe { GetLastError() };
        if e == ERROR_BROKEN_PIPE || e == ERROR_HANDLE_EOF {
            return Ok(0);
        }
        return Err(Error::from_raw_os_error(e as i32));
    }
    Ok(n as usize)
}

/// WriteFile: bytes written.
pub fn write(h: usize, buf: &[u8]) -> Result<usize, Error> {
    let mut n = 0u32;
    let want = buf.len().min(MAX_RW) as u32;
    // SAFETY: buf is readable for `want` bytes; n is an out-parameter; no OVERLAPPED.
    check(unsafe { WriteFile(h, buf.as_ptr(), want, &mut n, 0) })?;
    Ok(n as usize)
}

/// SetFilePointerEx: the new offset.
pub fn seek(h: usize, pos: SeekFrom) -> Result<u64, Error> {
    let (dist, method) = match pos {
        SeekFrom::Start(n) => (i64::try_from(n).map_err(|_| Error::from_raw_os_error(ERROR_INVALID_PARAMETER))?, 0),
        SeekFrom::Current(n) => (n, 1),
        SeekFrom::End(n) => (n, 2),
    };
    let mut new = 0i64;
    // SAFETY: new is an out-parameter.
    check(unsafe { SetFilePointerEx(h, dist, &mut new, method) })?;
    Ok(new as u64)
}

/// FlushFileBuffers.
pub fn sync(h: usize) -> Result<(), Error> {
    // SAFETY: a handle of ours.
    check(unsafe { FlushFileBuffers(h) })
}

/// SetFileInformationByHandle(FileEndOfFileInfo): the file pointer does not move (as ftruncate).
pub fn set_len(h: usize, len: u64) -> Result<(), Error> {
    let len = i64::try_from(len).map_err(|_| Error::from_raw_os_error(ERROR_INVALID_PARAMETER))?;
    // SAFETY: FILE_END_OF_FILE_INFO is one LARGE_INTEGER, passed with its size.
    check(unsafe { SetFileInformationByHandle(h, FILE_END_OF_FILE_INFO, (&len as *const i64).cast(), 8) })
}

/// CloseHandle.
pub fn close(h: usize) -> Result<(), Error> {
    // SAFETY: a handle of ours, closed once.
    check(unsafe { CloseHandle(h) })
}

/// Seconds and nanoseconds since the Unix epoch from a FILETIME.
fn unix_time(t: FileTime) -> (i64, u32) {
    let t = (((t.high as u64) << 32) | t.low as u64) as i64 - FILETIME_UNIX_EPOCH;
    (t.div_euclid(10_000_000), (t.rem_euclid(10_000_000) * 100) as u32)
}

/// The kind and Go's emulated permission bits from file attributes (and a reparse tag).
fn kind_and_mode(attrs: u32, reparse_tag: u32) -> (FileKind, u32) {
    let mut mode = if attrs & FILE_ATTRIBUTE_READONLY != 0 { 0o444 } else { 0o666 };
    let kind = if attrs & FILE_ATTRIBUTE_REPARSE_POINT != 0
        && (reparse_tag == IO_REPARSE_TAG_SYMLINK || reparse_tag == IO_REPARSE_TAG_MOUNT_POINT)
    {
        FileKind::Symlink
    } else if attrs & FILE_ATTRIBUTE_DEVICE != 0 {
        FileKind::Other
    } else if attrs & FILE_ATTRIBUTE_DIRECTORY != 0 {
        mode |= 0o111;
        FileKind::Dir
    } else {
        FileKind::File
    };
    (kind, mode)
}

/// GetFileInformationByHandle.
pub fn fstat(h: usize) -> Result<FileStat, Error> {
    let mut info = ByHandleFileInformation::default();
    // SAFETY: info is an out-parameter of the right type.
    check(unsafe { GetFileInformationByHandle(h, &mut info) })?;
    // A handle is the file itself (links are followed when it is opened).
    let (kind, mode) = kind_and_mode(info.attributes & !FILE_ATTRIBUTE_REPARSE_POINT, 0);
    let (mtime_sec, mtime_nsec) = unix_time(info.write);
    Ok(FileStat { size: ((info.size_high as u64) << 32) | info.size_low as u64, kind, mode, mtime_sec, mtime_nsec })
}

/// The status of the file at `path` (opened with no access, following links).
pub fn stat(path: &[u8]) -> Result<FileStat, Error> {
    let h = open_raw(path, FILE_READ_ATTRIBUTES, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS)?;
    let r = fstat(h);
    let _ = close(h);
    r
}

/// DeleteFileW.
pub fn unlink(path: &[u8]) -> Result<(), Error> {
    // SAFETY: p is NUL-terminated UTF-16 for the call.
    check(with_wide(path, |p| unsafe { DeleteFileW(p) })?)
}

/// RemoveDirectoryW.
pub fn rmdir(path: &[u8]) -> Result<(), Error> {
    // SAFETY: p is NUL-terminated UTF-16 for the call.
    check(with_wide(path, |p| unsafe { RemoveDirectoryW(p) })?)
}

/// CreateDirectoryW (windows has no mode bits for directories).
pub fn mkdir(path: &[u8], _mode: u32) -> Result<(), Error> {
    // SAFETY: p is NUL-terminated UTF-16 for the call; no security attributes.
    check(with_wide(path, |p| unsafe { CreateDirectoryW(p, 0) })?)
}

/// MoveFileExW(REPLACE_EXISTING), as Go's os.Rename.
pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Error> {
    // SAFETY: f and t are NUL-terminated UTF-16 for the call.
    let ok = with_wide(from, |f| with_wide(to, |t| unsafe { MoveFileExW(f, t, MOVEFILE_REPLACE_EXISTING) }))??;
    check(ok)
}

/// A directory being listed with FindFirstFileW/FindNextFileW.
pub struct Dir {
    h: Handle,
    /// The entry FindFirstFileW or FindNextFileW filled and nobody took yet.
    data: Box<Win32FindDataW>,
    have: bool,
}

impl core::fmt::Debug for Dir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dir").field("handle", &self.h).finish()
    }
}

impl Dir {
    /// Opens the directory at `path` for listing: NotFound if it does not exist,
    /// NotADirectory (ERROR_DIRECTORY) for a file.
    pub fn open(path: &[u8]) -> Result<Dir, Error> {
        if stat(path)?.kind != FileKind::Dir {
            return Err(Error::from_raw_os_error(ERROR_DIRECTORY));
        }
        let mut pattern = Vec::with_capacity(path.len() + 2);
        pattern.extend_from_slice(path);
        if !matches!(pattern.last(), Some(b'/' | b'\\')) {
            pattern.push(b'\\');
        }
        pattern.push(b'*');
        // SAFETY: an all-zero WIN32_FIND_DATAW is valid (integers and arrays of them).
        let mut data: Box<Win32FindDataW> = Box::new(unsafe { core::mem::zeroed() });
        // SAFETY: p is NUL-terminated UTF-16 for the call; data is the out-parameter.
        let h = with_wide(&pattern, |p| unsafe { FindFirstFileW(p, &mut *data) })?;
        if h == INVALID_HANDLE_VALUE {
            let e = last_error();
            if e.raw_os_error() == Some(ERROR_FILE_NOT_FOUND) {
                return Ok(Dir { h, data, have: false }); // nothing matched: empty
            }
            return Err(e);
        }
        Ok(Dir { h, data, have: true })
    }

    /// The next entry but `.` and `..`: its name (WTF-8) and kind; None at the end.
    pub fn next(&mut self) -> Option<Result<(Vec<u8>, FileKind), Error>> {
        loop {
            if !self.have {
                if self.h == INVALID_HANDLE_VALUE {
                    return None;
                }
                // SAFETY: our find handle; data is the out-parameter.
                if unsafe { FindNextFileW(self.h, &mut *self.data) } == 0 {
                    // SAFETY: no arguments.
                    let e = unsafe { GetLastError() };
                    return if e == ERROR_NO_MORE_FILES { None } else { Some(Err(Error::from_raw_os_error(e as i32))) };
                }
            }
            self.have = false;
            let wide = &self.data.file_name;
            let len = wide.iter().position(|&c| c == 0).unwrap_or(wide.len());
            let mut name = Vec::with_capacity(len);
            wtf8_encode(&wide[..len], |b| name.push(b));
            if name == b"." || name == b".." {
                continue;
            }
            let (kind, _) = kind_and_mode(self.data.attributes, self.data.reserved0);
            return Some(Ok((name, kind)));
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if self.h != INVALID_HANDLE_VALUE {
            // SAFETY: our find handle, closed once.
            unsafe { FindClose(self.h) };
        }
    }
}
