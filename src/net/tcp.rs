//! TCP (Go's net/tcpsock.go and tcpsock_posix.go): the OS-neutral half; the socket operations
//! are the OS's `NetFd` (fd_unix.rs).

use core::net::SocketAddr;
use core::time::Duration;

use super::dial::{dial_serial, each_addr};
use super::fd::NetFd;
use super::ToSocketAddrs;
use crate::io::Error;
use crate::netpoll::Mode;
use crate::time::Instant;

/// A TCP listener (Go's net.TCPListener).
pub struct TcpListener {
    fd: NetFd,
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port; see [`TcpListener::local_addr`]): the first
    /// of its addresses that works ([`ToSocketAddrs`]). SO_REUSEADDR is set, as Go does.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<TcpListener, Error> {
        each_addr(addr, |a| Ok(TcpListener { fd: NetFd::listen_stream(&a)? }))
    }

    /// Waits for a connection (parks the goroutine); fails with Closed after [`close`](Self::close)
    /// and with TimedOut once the deadline passed.
    pub fn accept(&self) -> Result<(TcpStream, SocketAddr), Error> {
        let (fd, peer) = self.fd.accept()?;
        // Go's default for every TCP connection.
        let _ = fd.set_nodelay(true);
        Ok((TcpStream { fd }, peer))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.fd.local_addr()
    }

    /// Go's SetDeadline: accept fails with TimedOut once `d` passes (`None` clears).
    pub fn set_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(d, Some(Mode::Read))
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
        let fd = NetFd::dial_stream(&addr, deadline)?;
        let _ = fd.set_nodelay(true);
        Ok(TcpStream { fd })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> Result<SocketAddr, Error> {
        self.fd.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.fd.local_addr()
    }

    /// TCP_NODELAY (on by default, as in Go).
    pub fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        self.fd.set_nodelay(on)
    }

    super::stream_methods!();
}

super::stream_io_traits!(TcpStream);

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
