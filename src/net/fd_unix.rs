//! A socket on the poller, unix (Go's internal/poll FD + fd_mutex.go + fd_unix.go, and net's
//! fd_unix.go + sock_posix.go): the fd, its poll descriptor, a reference count that keeps the fd
//! alive while calls use it, the read and write locks, and the socket operations tcp.rs,
//! udp.rs and unix.rs are written in (the same names on every OS: windows has its own file).
//! The system calls are the OS's `sys::socket` module.

use core::net::SocketAddr;

use super::fd_mutex::{self, FdMutex, Release};
use super::Shutdown;
use crate::io::{Error, ErrorKind};
use crate::netpoll::{deadline_from, Mode, PollDesc};
use crate::sys::socket::{self as sys, EAGAIN, ECONNABORTED, EINPROGRESS, EINTR};
use crate::sys::unix::sockaddr::RawAddr;
use crate::time::Instant;

/// What kind of socket (Go's sotype).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// SOCK_STREAM (TCP, unix streams).
    Stream,
    /// SOCK_DGRAM (UDP).
    Datagram,
}

/// Go's poll.FD: a non-blocking socket registered with the poller.
pub(super) struct NetFd {
    fd: usize,
    pd: &'static PollDesc,
    mu: FdMutex,
}

/// A call in flight on a NetFd.
type Use<'a> = fd_mutex::Use<'a, NetFd>;

impl Release for NetFd {
    fn fd_mutex(&self) -> &FdMutex {
        &self.mu
    }
    fn poll_desc(&self) -> &PollDesc {
        self.pd
    }
    /// Go's FD.destroy.
    fn destroy(&self) {
        self.pd.close();
        sys::close(self.fd);
    }
}

/// The error for a negative system call result.
fn os_error(r: isize) -> Error {
    Error::from_raw_os_error(-r as i32)
}

/// A system call's result as a Result.
fn check(r: isize) -> Result<usize, Error> {
    if r < 0 {
        Err(os_error(r))
    } else {
        Ok(r as usize)
    }
}

/// The address the kernel wrote, or an error for a family gort does not know.
fn addr_of(ra: &RawAddr) -> Result<SocketAddr, Error> {
    ra.to_addr().ok_or_else(|| Error::new(ErrorKind::InvalidData, "unknown address family"))
}

impl NetFd {
    /// Takes ownership of `fd` (non-blocking, close-on-exec) and registers it with the poller;
    /// closes it on failure (Go's FD.Init).
    fn new(fd: usize) -> Result<NetFd, Error> {
        match crate::netpoll::poll_open(fd) {
            Ok(pd) => Ok(NetFd { fd, pd, mu: FdMutex::new() }),
            Err(e) => {
                sys::close(fd);
                Err(Error::from_raw_os_error(e))
            }
        }
    }

    /// Go's socket (sock_posix.go) for an internet address: a non-blocking socket of `addr`'s
    /// family with Go's default options, `setup` run on it (bind, listen), then registered with
    /// the poller. The fd is closed if any step fails.
    fn socket(addr: &SocketAddr, kind: Kind, setup: impl FnOnce(usize) -> Result<(), Error>) -> Result<NetFd, Error> {
        let family = if addr.is_ipv4() { sys::AF_INET } else { sys::AF_INET6 };
        NetFd::socket_family(family, kind, |s| {
            // Go's setDefaultSockopts: an IPv6 wildcard socket also serves IPv4 (dual stack);
            // any other IPv6 socket is IPv6 only. Datagram sockets may broadcast.
            if family == sys::AF_INET6 {
                let v6only = !addr.ip().is_unspecified();
                check(sys::setsockopt_int(s, sys::IPPROTO_IPV6, sys::IPV6_V6ONLY, v6only as i32))?;
            }
            if kind == Kind::Datagram {
                check(sys::setsockopt_int(s, sys::SOL_SOCKET, sys::SO_BROADCAST, 1))?;
            }
            setup(s)
        })
    }

    /// A non-blocking socket of `family` (AF_INET, AF_INET6, AF_UNIX), `setup` run on it, then
    /// registered with the poller; the fd is closed if any step fails.
    fn socket_family(
        family: usize,
        kind: Kind,
        setup: impl FnOnce(usize) -> Result<(), Error>,
    ) -> Result<NetFd, Error> {
        let ty = match kind {
            Kind::Stream => sys::SOCK_STREAM,
            Kind::Datagram => sys::SOCK_DGRAM,
        };
        let s = check(sys::socket(family, ty))?;
        if let Err(e) = setup(s) {
            sys::close(s);
            return Err(e);
        }
        NetFd::new(s)
    }

    /// Go's listenStream: a stream socket bound to `addr` (port 0 picks one), listening, with
    /// SO_REUSEADDR as Go sets it.
    pub(super) fn listen_stream(addr: &SocketAddr) -> Result<NetFd, Error> {
        NetFd::socket(addr, Kind::Stream, |s| {
            check(sys::setsockopt_int(s, sys::SOL_SOCKET, sys::SO_REUSEADDR, 1))?;
            check(sys::bind(s, &RawAddr::from(addr)))?;
            // The kernel caps the backlog at net.core.somaxconn (Go reads it; the cap is the same).
            check(sys::listen(s, 4096))?;
            Ok(())
        })
    }

    /// Go's listenDatagram: a datagram socket bound to `addr`.
    pub(super) fn listen_datagram(addr: &SocketAddr) -> Result<NetFd, Error> {
        NetFd::socket(addr, Kind::Datagram, |s| check(sys::bind(s, &RawAddr::from(addr))).map(drop))
    }

    /// Go's dial for a stream socket: connect, parked until the handshake ends or `deadline`
    /// passes (Go's netFD.connect: wait until writable, then ask SO_ERROR).
    pub(super) fn dial_stream(addr: &SocketAddr, deadline: Option<Instant>) -> Result<NetFd, Error> {
        let fd = NetFd::socket(addr, Kind::Stream, |_| Ok(()))?;
        fd.connect(&RawAddr::from(addr), deadline)?;
        Ok(fd)
    }

    /// A unix-domain stream socket bound to `ra` (a path: `RawAddr::from_unix_path`),
    /// listening (Go's listenUnix). A file at the path makes bind fail with AddrInUse.
    pub(super) fn listen_unix(ra: &RawAddr) -> Result<NetFd, Error> {
        NetFd::socket_family(sys::AF_UNIX, Kind::Stream, |s| {
            check(sys::bind(s, ra))?;
            check(sys::listen(s, 4096))?;
            Ok(())
        })
    }

    /// A unix-domain stream socket connected to `ra` (Go's dialUnix).
    pub(super) fn dial_unix(ra: &RawAddr, deadline: Option<Instant>) -> Result<NetFd, Error> {
        let fd = NetFd::socket_family(sys::AF_UNIX, Kind::Stream, |_| Ok(()))?;
        fd.connect(ra, deadline)?;
        Ok(fd)
    }

    /// Go's netFD.connect: connect(2), then parked until writable and SO_ERROR says how the
    /// handshake ended, or `deadline` passes.
    fn connect(&self, ra: &RawAddr, deadline: Option<Instant>) -> Result<(), Error> {
        let u = fd_mutex::lock(self, Mode::Write)?;
        let raw = self.raw(&u);
        let r = sys::connect(raw, ra);
        if r < 0 && r != -EINPROGRESS && r != -EINTR {
            return Err(os_error(r));
        }
        if r < 0 {
            if deadline.is_some() {
                self.pd.set_deadline(deadline_from(deadline), Some(Mode::Write));
            }
            loop {
                self.wait(Mode::Write)?;
                match sys::getsockopt_int(raw, sys::SOL_SOCKET, sys::SO_ERROR).map_err(os_error)? as isize {
                    0 => break,
                    // Spurious wake-up: still in progress.
                    EINPROGRESS | EAGAIN | EINTR => continue,
                    e => return Err(Error::from_raw_os_error(e as i32)),
                }
            }
            if deadline.is_some() {
                self.pd.set_deadline(0, Some(Mode::Write));
            }
        }
        Ok(())
    }

    /// Go's FD.Accept: parks until a connection arrives; the new socket is registered too.
    pub(super) fn accept(&self) -> Result<(NetFd, SocketAddr), Error> {
        let (nfd, ra) = self.accept_raw()?;
        Ok((nfd, addr_of(&ra)?))
    }

    /// accept with the peer's address as the kernel wrote it (any family).
    pub(super) fn accept_raw(&self) -> Result<(NetFd, RawAddr), Error> {
        let mut ra = RawAddr::empty();
        let ns = self.read_with(|fd| match sys::accept(fd, &mut ra) {
            // A connection reset before we took it: wait for the next (Go retries too).
            r if r == -ECONNABORTED => -EINTR,
            r => r,
        })?;
        Ok((NetFd::new(ns)?, ra))
    }

    /// Go's FD.Read: what is there, parked until something is; 0 is end of file.
    pub(super) fn read(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.read_with(|fd| sys::recv(fd, buf))
    }

    /// Go's FD.Write for one system call's worth: parked until the socket takes a byte.
    pub(super) fn write(&self, buf: &[u8]) -> Result<usize, Error> {
        self.write_with(|fd| sys::send(fd, buf))
    }

    /// Go's FD.ReadFrom: one datagram and its sender.
    pub(super) fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), Error> {
        let mut ra = RawAddr::empty();
        let n = self.read_with(|fd| sys::recvfrom(fd, buf, &mut ra))?;
        Ok((n, addr_of(&ra)?))
    }

    /// Go's FD.WriteTo: one datagram to `addr`.
    pub(super) fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> Result<usize, Error> {
        let ra = RawAddr::from(addr);
        self.write_with(|fd| sys::sendto(fd, buf, &ra))
    }

    /// connect(2) on a datagram socket: sets the default peer (does not block).
    pub(super) fn connect_datagram(&self, addr: &SocketAddr) -> Result<(), Error> {
        let u = self.use_fd()?;
        check(sys::connect(self.raw(&u), &RawAddr::from(addr))).map(drop)
    }

    /// Go's FD.Shutdown.
    pub(super) fn shutdown(&self, how: Shutdown) -> Result<(), Error> {
        let u = self.use_fd()?;
        let h = match how {
            Shutdown::Read => 0,
            Shutdown::Write => 1,
            Shutdown::Both => 2,
        };
        check(sys::shutdown(self.raw(&u), h)).map(drop)
    }

    /// The local address (getsockname).
    pub(super) fn local_addr(&self) -> Result<SocketAddr, Error> {
        addr_of(&self.local_raw()?)
    }

    /// The remote address (getpeername).
    pub(super) fn peer_addr(&self) -> Result<SocketAddr, Error> {
        addr_of(&self.peer_raw()?)
    }

    /// getsockname's address as the kernel wrote it (any family).
    pub(super) fn local_raw(&self) -> Result<RawAddr, Error> {
        let u = self.use_fd()?;
        let mut ra = RawAddr::empty();
        check(sys::getsockname(self.raw(&u), &mut ra))?;
        Ok(ra)
    }

    /// getpeername's address as the kernel wrote it (any family).
    pub(super) fn peer_raw(&self) -> Result<RawAddr, Error> {
        let u = self.use_fd()?;
        let mut ra = RawAddr::empty();
        check(sys::getpeername(self.raw(&u), &mut ra))?;
        Ok(ra)
    }

    /// TCP_NODELAY.
    pub(super) fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        let u = self.use_fd()?;
        check(sys::setsockopt_int(self.raw(&u), sys::IPPROTO_TCP, sys::TCP_NODELAY, on as i32)).map(drop)
    }

    /// A call that neither reads nor writes.
    fn use_fd(&self) -> Result<Use<'_>, Error> {
        fd_mutex::use_fd(self)
    }

    /// The raw fd (valid while a `Use` is held).
    fn raw(&self, _u: &Use<'_>) -> usize {
        self.fd
    }

    /// Go's pollDesc.wait: parks until ready for `mode`, the deadline or close.
    fn wait(&self, mode: Mode) -> Result<(), Error> {
        Ok(self.pd.wait(mode)?)
    }

    /// Go's SetDeadline family: `mode` None sets both.
    pub(super) fn set_deadline(&self, d: Option<Instant>, mode: Option<Mode>) -> Result<(), Error> {
        let _u = self.use_fd()?;
        self.pd.set_deadline(deadline_from(d), mode);
        Ok(())
    }

    /// Go's FD.Close (fd_mutex::close).
    pub(super) fn close(&self) -> Result<(), Error> {
        fd_mutex::close(self)
    }

    /// Reads with the poller: one system call `f(fd)` returning bytes or -errno, parked on EAGAIN.
    fn read_with(&self, f: impl FnMut(usize) -> isize) -> Result<usize, Error> {
        let u = fd_mutex::lock(self, Mode::Read)?;
        self.io_with(&u, Mode::Read, f)
    }

    /// Writes with the poller, as read_with.
    fn write_with(&self, f: impl FnMut(usize) -> isize) -> Result<usize, Error> {
        let u = fd_mutex::lock(self, Mode::Write)?;
        self.io_with(&u, Mode::Write, f)
    }

    /// The loop of read_with/write_with (Go's `for { n, err := syscall; if EAGAIN { waitRead } }`).
    fn io_with(&self, u: &Use<'_>, mode: Mode, mut f: impl FnMut(usize) -> isize) -> Result<usize, Error> {
        let fd = self.raw(u);
        loop {
            match f(fd) {
                n if n >= 0 => return Ok(n as usize),
                r if r == -EINTR => continue,
                r if r == -EAGAIN => self.wait(mode)?,
                r => return Err(os_error(r)),
            }
        }
    }
}

impl Drop for NetFd {
    fn drop(&mut self) {
        // The owner goes away: close if nobody did (no call can be in flight: they borrow self).
        let _ = self.close();
    }
}
