//! UDP (Go's net/udpsock.go and udpsock_posix.go): the OS-neutral half, as tcp.rs.

use core::net::SocketAddr;

use super::dial::each_addr;
use super::fd::NetFd;
use super::ToSocketAddrs;
use crate::io::{Error, ErrorKind};
use crate::netpoll::Mode;
use crate::time::Instant;

/// A UDP socket (Go's net.UDPConn). Methods take `&self`; deadlines and close behave as
/// [`TcpStream`](super::TcpStream)'s.
pub struct UdpSocket {
    fd: NetFd,
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0 picks a free port): the first of its addresses that
    /// works ([`ToSocketAddrs`]).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<UdpSocket, Error> {
        each_addr(addr, |a| Ok(UdpSocket { fd: NetFd::listen_datagram(&a)? }))
    }

    /// Sends one datagram to `addr` (its first address, [`ToSocketAddrs`]); returns the bytes
    /// sent.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> Result<usize, Error> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or(Error::new(ErrorKind::InvalidInput, "no addresses to send data to"))?;
        self.fd.send_to(buf, &addr)
    }

    /// Receives one datagram (parks until one arrives); a datagram longer than `buf` is cut.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), Error> {
        self.fd.recv_from(buf)
    }

    /// Sets the default peer: `send` goes there and only its datagrams are received. The first
    /// of its addresses that works ([`ToSocketAddrs`]).
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> Result<(), Error> {
        each_addr(addr, |a| self.fd.connect_datagram(&a))
    }

    /// Sends one datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> Result<usize, Error> {
        self.fd.write(buf)
    }

    /// Receives one datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.fd.read(buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.fd.local_addr()
    }

    /// Go's SetReadDeadline (see [`TcpStream::set_read_deadline`](super::TcpStream::set_read_deadline)).
    pub fn set_read_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(d, Some(Mode::Read))
    }

    /// Go's SetWriteDeadline.
    pub fn set_write_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(d, Some(Mode::Write))
    }

    /// Closes the socket: blocked goroutines fail with Closed. Dropping does the same.
    pub fn close(&self) -> Result<(), Error> {
        self.fd.close()
    }
}

impl core::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpSocket").field("addr", &self.local_addr().ok()).finish()
    }
}
