//! Files and directories (the file functions of Go's os package, shaped like std::fs).
//!
//! Every operation is a blocking call run through [`crate::syscall::blocking`], as Go's os package
//! does for regular files (they never go to the netpoller): while the kernel works, the
//! goroutine's P is handed to another M if the call takes long, so other goroutines keep running.
//! Errors are [`crate::io::Error`] values (the OS's code and a kind), never panics, whatever the
//! input: a path with a NUL byte inside is `InvalidInput`.
//!
//! Paths are byte strings: anything `AsRef<[u8]>` (`&str`, `&[u8]`, `String`, `Vec<u8>`); on
//! windows they must be UTF-8 (or the WTF-8 `gort::os::args` gives there), and both `/` and `\`
//! separate. [`File`] and `&File` implement the `embedded-io` crate's `Read`, `Write` and `Seek`
//! besides their own methods.
//!
//! ```
//! use gort::fs::{self, File, OpenOptions};
//! use gort::io::SeekFrom;
//!
//! let dir = "/tmp/gort-fs-doc";
//! let _ = fs::remove_file("/tmp/gort-fs-doc/notes.txt");
//! let _ = fs::remove_dir(dir);
//! fs::create_dir_all(dir).unwrap();
//! let path = "/tmp/gort-fs-doc/notes.txt";
//! fs::write(path, "hello\n").unwrap();
//! let f = OpenOptions::new().append(true).open(path).unwrap();
//! f.write_all(b"world\n").unwrap();
//! assert_eq!(fs::read_to_string(path).unwrap(), "hello\nworld\n");
//!
//! let f = File::open(path).unwrap();
//! f.seek(SeekFrom::Start(6)).unwrap();
//! let mut buf = [0u8; 5];
//! assert_eq!(f.read(&mut buf).unwrap(), 5);
//! assert_eq!(&buf, b"world");
//! assert_eq!(f.metadata().unwrap().len(), 12);
//!
//! let err = File::open("/tmp/gort-fs-doc/missing").unwrap_err();
//! assert_eq!(err.kind(), gort::io::ErrorKind::NotFound);
//! for entry in fs::read_dir(dir).unwrap() {
//!     let entry = entry.unwrap();
//!     assert_eq!(entry.file_name(), b"notes.txt");
//!     assert!(entry.file_type().is_file());
//! }
//! fs::remove_file(path).unwrap();
//! fs::remove_dir(dir).unwrap();
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::io::{Error, ErrorKind, SeekFrom};
use crate::sys::fs as sys;
use crate::sys::{FileKind, FileStat, OpenHow};
use crate::syscall::blocking;

/// An open file (Go's `*os.File`). Closed when dropped. Reads, writes and seeks take `&self`, as
/// Go's methods do: the OS orders concurrent calls on one file (each read or write moves the one
/// shared offset).
pub struct File {
    fd: usize,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("handle", &self.fd).finish()
    }
}

/// How to open a file (std's `OpenOptions`; Go's `os.OpenFile` flags). Start from
/// [`OpenOptions::new`] (nothing set), set what you need, then [`open`](OpenOptions::open).
#[derive(Clone, Debug)]
pub struct OpenOptions(OpenHow);

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access, no creation; permission bits 0o666 for a new file (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions(OpenHow { mode: 0o666, ..OpenHow::default() })
    }
    /// Open for reading.
    pub fn read(&mut self, yes: bool) -> &mut Self {
        self.0.read = yes;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, yes: bool) -> &mut Self {
        self.0.write = yes;
        self
    }
    /// Every write goes to the end of the file (implies writing).
    pub fn append(&mut self, yes: bool) -> &mut Self {
        self.0.append = yes;
        self
    }
    /// Cut the file to length 0 when opened (needs write).
    pub fn truncate(&mut self, yes: bool) -> &mut Self {
        self.0.truncate = yes;
        self
    }
    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.0.create = yes;
        self
    }
    /// Create the file, failing with `AlreadyExists` if it exists (needs write or append).
    pub fn create_new(&mut self, yes: bool) -> &mut Self {
        self.0.create_new = yes;
        self
    }
    /// Permission bits of a created file (unix, before the umask; on windows a mode without the
    /// 0o200 bit creates a read-only file, as Go does). Default 0o666.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode = mode;
        self
    }

    /// Opens `path` with these options. `InvalidInput` for a combination that cannot work
    /// (nothing to read or write; truncate without write; create without write or append), as
    /// std.
    pub fn open(&self, path: impl AsRef<[u8]>) -> Result<File, Error> {
        let h = self.0;
        let writes = h.write || h.append;
        if !h.read && !writes {
            return Err(Error::new(ErrorKind::InvalidInput, "open: neither read, write nor append"));
        }
        if (h.truncate && !h.write) || ((h.create || h.create_new) && !writes) {
            return Err(Error::new(ErrorKind::InvalidInput, "open: truncate or create without write access"));
        }
        let path = path.as_ref();
        let fd = blocking(|| sys::open(path, &h))?;
        Ok(File { fd })
    }
}

impl File {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<[u8]>) -> Result<File, Error> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens `path` for writing, creating it or cutting it to length 0 (Go's os.Create).
    pub fn create(path: impl AsRef<[u8]>) -> Result<File, Error> {
        OpenOptions::new().write(true).create(true).truncate(true).open(path)
    }

    /// [`OpenOptions::new`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Reads up to `buf.len()` bytes at the file's offset: the count, 0 at the end.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Error> {
        blocking(|| sys::read(self.fd, buf))
    }

    /// Writes up to `buf.len()` bytes at the offset (the end, in append mode): the count.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Error> {
        blocking(|| sys::write(self.fd, buf))
    }

    /// Writes all of `buf` (`WriteZero` if the OS takes nothing).
    pub fn write_all(&self, buf: &[u8]) -> Result<(), Error> {
        write_all_with(buf, |b| self.write(b))
    }

    /// Reads from the offset to the end, appending to `out`: the number of bytes read.
    pub fn read_to_end(&self, out: &mut Vec<u8>) -> Result<usize, Error> {
        read_to_end_with(out, |b| self.read(b))
    }

    /// Reads from the offset to the end and appends it to `out`; it must be UTF-8 (`InvalidData`
    /// if not, and `out` is left as it was).
    pub fn read_to_string(&self, out: &mut String) -> Result<usize, Error> {
        let mut v = Vec::new();
        let n = self.read_to_end(&mut v)?;
        out.push_str(core::str::from_utf8(&v).map_err(|_| invalid_utf8())?);
        Ok(n)
    }

    /// Moves the offset: the new offset from the start. A position before the start is an
    /// `InvalidInput` error; past the end is allowed (a later write leaves a hole).
    pub fn seek(&self, pos: SeekFrom) -> Result<u64, Error> {
        blocking(|| sys::seek(self.fd, pos))
    }

    /// Flushes the file's data and metadata to the device (fsync; FlushFileBuffers).
    pub fn sync_all(&self) -> Result<(), Error> {
        blocking(|| sys::sync(self.fd))
    }

    /// Sets the file's length: cuts it, or extends it with zeros. The offset does not move.
    pub fn set_len(&self, len: u64) -> Result<(), Error> {
        blocking(|| sys::set_len(self.fd, len))
    }

    /// The open file's metadata.
    pub fn metadata(&self) -> Result<Metadata, Error> {
        blocking(|| sys::fstat(self.fd)).map(Metadata)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // A close error has nowhere to go (std ignores it too); the handle is gone either way.
        let _ = blocking(|| sys::close(self.fd));
    }
}

/// Writes all of `buf` through `write`.
pub(crate) fn write_all_with(
    mut buf: &[u8],
    mut write: impl FnMut(&[u8]) -> Result<usize, Error>,
) -> Result<(), Error> {
    while !buf.is_empty() {
        match write(buf) {
            Ok(0) => return Err(Error::from_kind(ErrorKind::WriteZero)),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads through `read` until it returns 0, appending to `out`; the count.
pub(crate) fn read_to_end_with(
    out: &mut Vec<u8>,
    mut read: impl FnMut(&mut [u8]) -> Result<usize, Error>,
) -> Result<usize, Error> {
    let start = out.len();
    let mut chunk = 8192;
    loop {
        let len = out.len();
        out.resize(len + chunk, 0);
        match read(&mut out[len..]) {
            Ok(0) => {
                out.truncate(len);
                return Ok(len - start);
            }
            Ok(n) => out.truncate(len + n),
            Err(e) if e.kind() == ErrorKind::Interrupted => out.truncate(len),
            Err(e) => {
                out.truncate(len);
                return Err(e);
            }
        }
        chunk = (chunk * 2).min(1 << 20);
    }
}

fn invalid_utf8() -> Error {
    Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8")
}

impl embedded_io::ErrorType for File {
    type Error = Error;
}
impl embedded_io::ErrorType for &File {
    type Error = Error;
}
impl embedded_io::Read for File {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        File::read(self, buf)
    }
}
impl embedded_io::Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        File::read(self, buf)
    }
}
impl embedded_io::Write for File {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        File::write(self, buf)
    }
    /// Nothing is buffered in user space: a no-op (use `sync_all` for the device).
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}
impl embedded_io::Write for &File {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        File::write(self, buf)
    }
    /// Nothing is buffered in user space: a no-op.
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}
impl embedded_io::Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, Error> {
        File::seek(self, pos)
    }
}
impl embedded_io::Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, Error> {
        File::seek(self, pos)
    }
}

/// A file's metadata (Go's `os.FileInfo`).
#[derive(Clone, Copy)]
pub struct Metadata(FileStat);

impl Metadata {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.0.size
    }
    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.0.size == 0
    }
    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.0.kind == FileKind::File
    }
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.0.kind == FileKind::Dir
    }
    /// The kind of file.
    pub fn file_type(&self) -> FileType {
        FileType(self.0.kind)
    }
    /// Permission bits: on unix `st_mode & 0o7777`; on windows Go's emulation (0o444, plus
    /// 0o222 unless read-only, plus 0o111 for a directory).
    pub fn mode(&self) -> u32 {
        self.0.mode
    }
    /// Last modification time, on the wall clock.
    pub fn modified(&self) -> crate::time::SystemTime {
        crate::time::SystemTime::from_unix(self.0.mtime_sec, self.0.mtime_nsec)
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("len", &self.len())
            .field("file_type", &self.file_type())
            .field("mode", &format_args!("{:#o}", self.mode()))
            .field("modified", &self.modified())
            .finish()
    }
}

/// The kind of a file (std's `FileType`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FileType(FileKind);

impl FileType {
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.0 == FileKind::File
    }
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.0 == FileKind::Dir
    }
    /// A symbolic link (directory listings report links themselves, not their targets).
    pub fn is_symlink(&self) -> bool {
        self.0 == FileKind::Symlink
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The metadata of the file at `path`, following symbolic links (Go's os.Stat).
pub fn metadata(path: impl AsRef<[u8]>) -> Result<Metadata, Error> {
    let path = path.as_ref();
    blocking(|| sys::stat(path)).map(Metadata)
}

/// The whole file at `path` (Go's os.ReadFile).
pub fn read(path: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
    let f = File::open(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// The whole file at `path` as a String (`InvalidData` if it is not UTF-8).
pub fn read_to_string(path: impl AsRef<[u8]>) -> Result<String, Error> {
    String::from_utf8(read(path)?).map_err(|_| invalid_utf8())
}

/// Writes `contents` to `path`, creating it or replacing what it held (Go's os.WriteFile with
/// mode 0o666).
pub fn write(path: impl AsRef<[u8]>, contents: impl AsRef<[u8]>) -> Result<(), Error> {
    File::create(path)?.write_all(contents.as_ref())
}

/// Removes the file at `path` (not a directory).
pub fn remove_file(path: impl AsRef<[u8]>) -> Result<(), Error> {
    let path = path.as_ref();
    blocking(|| sys::unlink(path))
}

/// Removes the empty directory at `path`.
pub fn remove_dir(path: impl AsRef<[u8]>) -> Result<(), Error> {
    let path = path.as_ref();
    blocking(|| sys::rmdir(path))
}

/// Renames `from` to `to`, replacing `to` if it is a file.
pub fn rename(from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<(), Error> {
    let (from, to) = (from.as_ref(), to.as_ref());
    blocking(|| sys::rename(from, to))
}

/// Creates the directory `path` (mode 0o777 before the umask); its parent must exist.
pub fn create_dir(path: impl AsRef<[u8]>) -> Result<(), Error> {
    let path = path.as_ref();
    blocking(|| sys::mkdir(path, 0o777))
}

/// Whether `b` separates path elements here (`/`; on windows also `\`).
fn is_sep(b: u8) -> bool {
    b == b'/' || (cfg!(windows) && b == b'\\')
}

/// Creates `path` and every missing parent (Go's os.MkdirAll): Ok if it exists as a directory
/// already, `NotADirectory` if it or a parent exists as something else (Go's ENOTDIR).
pub fn create_dir_all(path: impl AsRef<[u8]>) -> Result<(), Error> {
    let path = path.as_ref();
    if path.contains(&0) {
        return Err(crate::sys::path::NUL_IN_PATH);
    }
    // Go's MkdirAll, as a loop: find the deepest ancestor that exists, create the rest in order.
    let trimmed_len = |mut n: usize| {
        while n > 1 && is_sep(path[n - 1]) {
            n -= 1;
        }
        n
    };
    let mut ends = Vec::new(); // prefixes to create, deepest first
    let mut n = trimmed_len(path.len());
    while n > 0 {
        match metadata(&path[..n]) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => return Err(Error::new(ErrorKind::NotADirectory, "a path element exists and is not a directory")),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        ends.push(n);
        // The parent: drop the last element and the separators before it.
        let mut p = n;
        while p > 0 && !is_sep(path[p - 1]) {
            p -= 1;
        }
        n = trimmed_len(p);
        if p == 0 || (windows_drive(&path[..n])) {
            break;
        }
    }
    for &end in ends.iter().rev() {
        if let Err(e) = create_dir(&path[..end]) {
            // Someone else may have made it meanwhile (Go checks the same way).
            match metadata(&path[..end]) {
                Ok(m) if m.is_dir() => {}
                _ => return Err(e),
            }
        }
    }
    Ok(())
}

/// Whether `p` is a bare windows drive (`C:`), which cannot be created.
fn windows_drive(p: &[u8]) -> bool {
    cfg!(windows) && p.len() == 2 && p[1] == b':'
}

/// The entries of the directory at `path`, without `.` and `..`, in the OS's order (Go's
/// os.ReadDir without the sort).
pub fn read_dir(path: impl AsRef<[u8]>) -> Result<ReadDir, Error> {
    let path = path.as_ref();
    let dir = blocking(|| sys::Dir::open(path))?;
    Ok(ReadDir { dir: Some(dir), path: path.to_vec() })
}

/// An iterator over a directory's entries (from [`read_dir`]); each step may read the directory
/// (a blocking call).
pub struct ReadDir {
    dir: Option<sys::Dir>,
    path: Vec<u8>,
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path.escape_ascii().to_string()).finish()
    }
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let dir = self.dir.as_mut()?;
        match blocking(|| dir.next()) {
            Some(Ok((name, kind))) => Some(Ok(DirEntry { dir: self.path.clone(), name, kind })),
            Some(Err(e)) => Some(Err(e)),
            None => {
                let d = self.dir.take();
                blocking(|| drop(d));
                None
            }
        }
    }
}

impl Drop for ReadDir {
    fn drop(&mut self) {
        let d = self.dir.take();
        if d.is_some() {
            blocking(|| drop(d)); // closes the directory
        }
    }
}

/// One entry of a directory listing.
#[derive(Clone)]
pub struct DirEntry {
    dir: Vec<u8>,
    name: Vec<u8>,
    kind: FileKind,
}

impl DirEntry {
    /// The entry's name, as bytes (UTF-8 from windows; whatever the file system holds on unix).
    pub fn file_name(&self) -> &[u8] {
        &self.name
    }
    /// The name as a `&str`, if it is UTF-8.
    pub fn file_name_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.name).ok()
    }
    /// The kind of the entry (a symbolic link is reported as one, not followed).
    pub fn file_type(&self) -> FileType {
        FileType(self.kind)
    }
    /// The directory's path joined with the name.
    pub fn path(&self) -> Vec<u8> {
        let mut p = self.dir.clone();
        if !p.last().is_some_and(|&b| is_sep(b)) {
            p.push(if cfg!(windows) { b'\\' } else { b'/' });
        }
        p.extend_from_slice(&self.name);
        p
    }
    /// The entry's metadata, following a symbolic link.
    pub fn metadata(&self) -> Result<Metadata, Error> {
        metadata(self.path())
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirEntry")
            .field("name", &self.name.escape_ascii().to_string())
            .field("file_type", &self.kind)
            .finish()
    }
}
