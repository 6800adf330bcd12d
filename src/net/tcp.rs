//! TCP (Go's net/tcpsock.go, tcpsock_posix.go, sock_posix.go, fd_unix.go connect/accept).

use core::net::SocketAddr;

use super::dial::{dial_serial, each_addr};
use super::fd::{self, os_error, NetFd, EAGAIN, ECONNABORTED, EINPROGRESS, EINTR};
use super::sockaddr::{RawAddr, AF_INET, AF_INET6};
use super::ToSocketAddrs;
use crate::io::{Error, ErrorKind};
use crate::netpoll::{deadline_from, Mode};
use crate::sys::{nr, syscall6};
use crate::time::Instant;
use core::time::Duration;

const SOCK_STREAM: usize = 1;
const SOL_SOCKET: usize = 1;
const SO_REUSEADDR: usize = 2;
const SO_ERROR: usize = 4;
const IPPROTO_TCP: usize = 6;
const TCP_NODELAY: usize = 1;
const MSG_NOSIGNAL: usize = 0x4000;
const SOCK_NONBLOCK: usize = 0o4000;
const SOCK_CLOEXEC: usize = 0o2000000;

fn family(a: &SocketAddr) -> usize {
    if a.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

/// getsockname / getpeername.
fn sock_name(n: usize, fd: usize) -> Result<SocketAddr, Error> {
    let mut ra = RawAddr::empty();
    // SAFETY: ra's bytes and len are valid for the kernel's writes.
    let r = unsafe { syscall6(n, fd, ra.bytes.as_mut_ptr() as usize, &mut ra.len as *mut u32 as usize, 0, 0, 0) };
    if r < 0 {
        return Err(os_error(r));
    }
    ra.to_addr().ok_or_else(fd::bad_family)
}

/// A TCP listener (Go's net.TCPListener).
pub struct TcpListener {
    fd: NetFd,
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port; see [`TcpListener::local_addr`]): the first
    /// of its addresses that works ([`ToSocketAddrs`]). SO_REUSEADDR is set, as Go does.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<TcpListener, Error> {
        each_addr(addr, Self::bind_one)
    }

    fn bind_one(addr: SocketAddr) -> Result<TcpListener, Error> {
        let s = fd::socket(family(&addr), SOCK_STREAM)?;
        let setup = || -> Result<(), Error> {
            fd::setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1)?;
            let ra = RawAddr::from(&addr);
            // SAFETY: ra is a valid sockaddr of ra.len bytes.
            let r = unsafe { syscall6(nr::BIND, s, ra.bytes.as_ptr() as usize, ra.len as usize, 0, 0, 0) };
            if r < 0 {
                return Err(os_error(r));
            }
            // The kernel caps the backlog at net.core.somaxconn.
            // SAFETY: integer arguments.
            let r = unsafe { syscall6(nr::LISTEN, s, 4096, 0, 0, 0, 0) };
            if r < 0 {
                return Err(os_error(r));
            }
            Ok(())
        };
        if let Err(e) = setup() {
            fd::close_raw(s);
            return Err(e);
        }
        Ok(TcpListener { fd: NetFd::new(s)? })
    }

    /// Waits for a connection (parks the goroutine); fails with Closed after [`close`](Self::close)
    /// and with TimedOut once the deadline passed.
    pub fn accept(&self) -> Result<(TcpStream, SocketAddr), Error> {
        let mut ra = RawAddr::empty();
        let ns = self.fd.read_with(|fd| {
            ra = RawAddr::empty();
            // SAFETY: ra is valid for the kernel's writes.
            let r = unsafe {
                syscall6(
                    nr::ACCEPT4,
                    fd,
                    ra.bytes.as_mut_ptr() as usize,
                    &mut ra.len as *mut u32 as usize,
                    SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0,
                    0,
                )
            };
            // A connection reset before we took it: wait for the next (Go retries too).
            if r == -ECONNABORTED {
                -EINTR
            } else {
                r
            }
        })?;
        let peer = ra.to_addr();
        let _ = fd::setsockopt_int(ns, IPPROTO_TCP, TCP_NODELAY, 1);
        let s = TcpStream { fd: NetFd::new(ns)? };
        Ok((s, peer.ok_or_else(fd::bad_family)?))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.fd.use_fd()?;
        sock_name(nr::GETSOCKNAME, self.fd.raw(&u))
    }

    /// Go's SetDeadline: accept fails with TimedOut once `d` passes (`None` clears).
    pub fn set_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), Some(Mode::Read))
    }

    /// Stops listening: goroutines blocked in accept fail with Closed. Dropping does the same.
    pub fn close(&self) -> Result<(), Error> {
        self.fd.close()
    }
}

/// Which half of a connection [`TcpStream::shutdown`] closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// No more reads (Go's CloseRead).
    Read,
    /// No more writes: the peer reads EOF (Go's CloseWrite).
    Write,
    /// Both.
    Both,
}

/// A TCP connection (Go's net.TCPConn). TCP_NODELAY is on by default, as in Go.
pub struct TcpStream {
    fd: NetFd,
}

impl TcpStream {
    /// Connects to `addr` (parks until the handshake ends): each of its addresses in turn
    /// ([`ToSocketAddrs`]; a name is resolved first), the first connection or the first error
    /// (Go's dialSerial).
    pub fn connect<A: ToSocketAddrs>(addr: A) -> Result<TcpStream, Error> {
        dial_serial(addr, None, Self::connect_deadline)
    }

    /// Connects, failing with TimedOut after `timeout` (counted from the call; several
    /// addresses share it as Go's partialDeadline does; a name's lookup has its own timeouts).
    pub fn connect_timeout<A: ToSocketAddrs>(addr: A, timeout: Duration) -> Result<TcpStream, Error> {
        dial_serial(addr, Some(Instant::now() + timeout), Self::connect_deadline)
    }

    fn connect_deadline(addr: SocketAddr, deadline: Option<Instant>) -> Result<TcpStream, Error> {
        let s = fd::socket(family(&addr), SOCK_STREAM)?;
        let conn = TcpStream { fd: NetFd::new(s)? };
        let ra = RawAddr::from(&addr);
        let fd = &conn.fd;
        let u = fd.write_lock()?;
        let raw = fd.raw(&u);
        // SAFETY: ra is a valid sockaddr of ra.len bytes.
        let r = unsafe { syscall6(nr::CONNECT, raw, ra.bytes.as_ptr() as usize, ra.len as usize, 0, 0, 0) };
        if r < 0 && r != -EINPROGRESS && r != -EINTR {
            return Err(os_error(r));
        }
        if r < 0 {
            // Go's connect: wait until writable, then ask SO_ERROR.
            if deadline.is_some() {
                fd.set_deadline(deadline_from(deadline), Some(Mode::Write))?;
            }
            loop {
                fd.wait(Mode::Write)?;
                let e = fd::getsockopt_int(raw, SOL_SOCKET, SO_ERROR)?;
                match e as isize {
                    0 => break,
                    // Spurious wake-up: still in progress.
                    EINPROGRESS | EAGAIN | EINTR => continue,
                    e => return Err(Error::from_raw_os_error(e as i32)),
                }
            }
            if deadline.is_some() {
                fd.set_deadline(0, Some(Mode::Write))?;
            }
        }
        drop(u);
        let _ = fd::setsockopt_int(raw, IPPROTO_TCP, TCP_NODELAY, 1);
        Ok(conn)
    }

    /// Reads what is there (parks until something is); Ok(0) is end of file.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SAFETY: buf is valid for writes of its length.
        self.fd.read_with(|fd| unsafe { syscall6(nr::READ, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) })
    }

    /// Fills `buf`, or fails (UnexpectedEof if the peer closed first).
    pub fn read_exact(&self, mut buf: &mut [u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(Error::from_kind(ErrorKind::UnexpectedEof)),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Writes some of `buf` (parks until the socket takes at least one byte).
    pub fn write(&self, buf: &[u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.fd.write_with(|fd| {
            // SAFETY: buf is valid for reads of its length; MSG_NOSIGNAL: no SIGPIPE.
            unsafe { syscall6(nr::SENDTO, fd, buf.as_ptr() as usize, buf.len(), MSG_NOSIGNAL, 0, 0) }
        })
    }

    /// Writes all of `buf` (Go's Write).
    pub fn write_all(&self, mut buf: &[u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            match self.write(buf)? {
                0 => return Err(Error::from_kind(ErrorKind::WriteZero)),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Closes one or both directions (Go's CloseRead / CloseWrite).
    pub fn shutdown(&self, how: Shutdown) -> Result<(), Error> {
        let u = self.fd.use_fd()?;
        let h = match how {
            Shutdown::Read => 0,
            Shutdown::Write => 1,
            Shutdown::Both => 2,
        };
        // SAFETY: integer arguments.
        let r = unsafe { syscall6(nr::SHUTDOWN, self.fd.raw(&u), h, 0, 0, 0, 0) };
        if r < 0 {
            return Err(os_error(r));
        }
        Ok(())
    }

    /// The remote address.
    pub fn peer_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.fd.use_fd()?;
        sock_name(nr::GETPEERNAME, self.fd.raw(&u))
    }

    /// The local address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.fd.use_fd()?;
        sock_name(nr::GETSOCKNAME, self.fd.raw(&u))
    }

    /// TCP_NODELAY (on by default, as in Go).
    pub fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        let u = self.fd.use_fd()?;
        fd::setsockopt_int(self.fd.raw(&u), IPPROTO_TCP, TCP_NODELAY, on as i32)
    }

    /// Go's SetReadDeadline: once `d` passes, the pending read and all later ones fail with
    /// TimedOut until the deadline is reset; `None` clears it.
    pub fn set_read_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), Some(Mode::Read))
    }

    /// Go's SetWriteDeadline (as set_read_deadline, for writes).
    pub fn set_write_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), Some(Mode::Write))
    }

    /// Go's SetDeadline: both.
    pub fn set_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), None)
    }

    /// Closes the connection: every goroutine blocked on it fails with Closed, later calls too;
    /// the fd is released when the last call in flight returns. Dropping does the same.
    pub fn close(&self) -> Result<(), Error> {
        self.fd.close()
    }
}

impl embedded_io::ErrorType for TcpStream {
    type Error = Error;
}

impl embedded_io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        TcpStream::read(self, buf)
    }
}

impl embedded_io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        TcpStream::write(self, buf)
    }
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl embedded_io::ErrorType for &TcpStream {
    type Error = Error;
}

impl embedded_io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        TcpStream::read(self, buf)
    }
}

impl embedded_io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        TcpStream::write(self, buf)
    }
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl core::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpListener").field("addr", &self.local_addr().ok()).finish()
    }
}

impl core::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
