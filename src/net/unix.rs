//! Unix-domain stream sockets (Go's net/unixsock.go and unixsock_posix.go, network "unix"): the
//! OS-neutral half over the unix `NetFd` (fd_unix.rs), on linux and darwin. windows has AF_UNIX
//! too (since 10 1803), but gort does not offer it there: this module is unix-only.
//!
//! Addresses are filesystem paths (bytes, as `gort::fs` takes them; [`UnixAddr`] is what
//! `local_addr`/`peer_addr`/`accept` return). A path must fit in the OS's sockaddr_un with its
//! NUL: at most 107 bytes on linux, 103 on darwin; a longer one, an empty one or one with a NUL
//! inside fails with `InvalidInput` before any system call. Linux's abstract names (Go's
//! `@name`) are not offered.
//!
//! As Go's UnixListener, [`UnixListener::bind`] creates the socket file and
//! [`close`](UnixListener::close) (or the drop) removes it again; a file already at the path
//! makes `bind` fail with `AddrInUse` and is left alone (Go removes no stale socket either).
//! Everything else (parking on the poller, deadlines, close waking every blocked goroutine with
//! `Closed`, `&self` methods) is as for [`TcpStream`](super::TcpStream).
//!
//! ```
//! use gort::net::{UnixListener, UnixStream};
//! # use gort::time::{SystemTime, UNIX_EPOCH};
//! # let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
//! # let path = alloc::format!("/tmp/gort-doc-{nanos}.sock");
//! let l = UnixListener::bind(&path).unwrap();
//! let p = path.clone();
//! gort::go(move || {
//!     let c = UnixStream::connect(&p).unwrap();
//!     assert_eq!(c.peer_addr().unwrap().as_bytes(), p.as_bytes());
//!     c.write_all(b"hello").unwrap();
//! });
//! let (c, peer) = l.accept().unwrap();
//! assert!(peer.is_unnamed());
//! let mut buf = [0u8; 5];
//! c.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"hello");
//! drop(l); // the socket file is removed
//! assert!(gort::fs::metadata(&path).is_err());
//! ```

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use super::fd::NetFd;
use crate::io::{Error, ErrorKind};
use crate::netpoll::Mode;
use crate::sys::unix::sockaddr::RawAddr;
use crate::time::Instant;

/// Room for the longest path on any unix gort runs on (linux's 108-byte sun_path).
const PATH_CAP: usize = 108;

/// A unix-domain socket address (Go's net.UnixAddr with Net "unix"): a filesystem path, or
/// empty for an unnamed socket (the connecting end of a stream, which is what `accept`
/// reports as the peer). Held inline, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnixAddr {
    path: [u8; PATH_CAP],
    len: u8,
}

impl UnixAddr {
    /// The address of `path`; InvalidInput if it is empty, holds a NUL or is too long for the
    /// OS's sockaddr_un (module doc).
    pub fn new(path: impl AsRef<[u8]>) -> Result<UnixAddr, Error> {
        let path = path.as_ref();
        RawAddr::from_unix_path(path)?;
        Ok(UnixAddr::from_bytes(path))
    }

    /// The address of checked (or kernel-written) path bytes.
    fn from_bytes(p: &[u8]) -> UnixAddr {
        let mut a = UnixAddr { path: [0; PATH_CAP], len: p.len().min(PATH_CAP) as u8 };
        a.path[..a.len as usize].copy_from_slice(&p[..a.len as usize]);
        a
    }

    /// The address the kernel wrote.
    fn from_raw(ra: &RawAddr) -> Result<UnixAddr, Error> {
        ra.unix_path()
            .map(UnixAddr::from_bytes)
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "not a unix socket address"))
    }

    /// The path's bytes (empty for an unnamed socket).
    pub fn as_bytes(&self) -> &[u8] {
        &self.path[..self.len as usize]
    }

    /// The path as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// Whether this is an unnamed socket (no path).
    pub fn is_unnamed(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for UnixAddr {
    /// The path (bytes that are not UTF-8 as U+FFFD); `(unnamed)` for an unnamed socket.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unnamed() {
            return f.write_str("(unnamed)");
        }
        for chunk in self.as_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixAddr(\"{}\")", self.as_bytes().escape_ascii())
    }
}

/// A unix-domain stream listener (Go's net.UnixListener). The socket file it created is removed
/// when it is closed or dropped.
pub struct UnixListener {
    fd: NetFd,
    path: UnixAddr,
    /// Go's unlinkOnce: the file is removed at the first close only.
    unlinked: AtomicBool,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it. `AddrInUse` if a file (socket or
    /// not) is already there; `InvalidInput` for a path that does not fit (module doc).
    pub fn bind(path: impl AsRef<[u8]>) -> Result<UnixListener, Error> {
        let path = path.as_ref();
        let ra = RawAddr::from_unix_path(path)?;
        let fd = NetFd::listen_unix(&ra)?;
        Ok(UnixListener { fd, path: UnixAddr::from_bytes(path), unlinked: AtomicBool::new(false) })
    }

    /// Waits for a connection (parks the goroutine); fails with Closed after
    /// [`close`](Self::close) and with TimedOut once the deadline passed. The peer's address
    /// is usually unnamed.
    pub fn accept(&self) -> Result<(UnixStream, UnixAddr), Error> {
        let (fd, ra) = self.fd.accept_raw()?;
        let peer = UnixAddr::from_raw(&ra).unwrap_or(UnixAddr::from_bytes(b""));
        Ok((UnixStream { fd }, peer))
    }

    /// The path it listens on.
    pub fn local_addr(&self) -> Result<UnixAddr, Error> {
        UnixAddr::from_raw(&self.fd.local_raw()?)
    }

    /// Go's SetDeadline: accept fails with TimedOut once `d` passes (`None` clears).
    pub fn set_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(d, Some(Mode::Read))
    }

    /// Removes the socket file (first close only), then stops listening: goroutines blocked in
    /// accept fail with Closed. Dropping does the same.
    pub fn close(&self) -> Result<(), Error> {
        // AcqRel: exactly one close removes the file (Go's unlinkOnce).
        if !self.unlinked.swap(true, Ordering::AcqRel) {
            // Go ignores the unlink's error too (the file may have been removed by hand).
            let _ = crate::fs::remove_file(self.path.as_bytes());
        }
        self.fd.close()
    }
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// A unix-domain stream connection (Go's net.UnixConn).
pub struct UnixStream {
    fd: NetFd,
}

impl UnixStream {
    /// Connects to the listener at `path` (NotFound if there is none, ConnectionRefused if the
    /// file is a socket nobody listens on).
    pub fn connect(path: impl AsRef<[u8]>) -> Result<UnixStream, Error> {
        Self::connect_deadline(path.as_ref(), None)
    }

    /// Connects, failing with TimedOut after `timeout`.
    pub fn connect_timeout(path: impl AsRef<[u8]>, timeout: Duration) -> Result<UnixStream, Error> {
        Self::connect_deadline(path.as_ref(), Some(Instant::now() + timeout))
    }

    fn connect_deadline(path: &[u8], deadline: Option<Instant>) -> Result<UnixStream, Error> {
        let ra = RawAddr::from_unix_path(path)?;
        Ok(UnixStream { fd: NetFd::dial_unix(&ra, deadline)? })
    }

    /// The listener's path (for the connecting end).
    pub fn peer_addr(&self) -> Result<UnixAddr, Error> {
        UnixAddr::from_raw(&self.fd.peer_raw()?)
    }

    /// The local path (the listener's, for an accepted end; unnamed for a connecting end).
    pub fn local_addr(&self) -> Result<UnixAddr, Error> {
        UnixAddr::from_raw(&self.fd.local_raw()?)
    }

    super::stream_methods!();
}

super::stream_io_traits!(UnixStream);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("addr", &self.path).finish()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
