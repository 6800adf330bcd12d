//! UDP (Go's net/udpsock.go, udpsock_posix.go).

use core::net::SocketAddr;

use super::dial::each_addr;
use super::fd::{self, os_error, NetFd};
use super::sockaddr::{RawAddr, AF_INET, AF_INET6};
use super::ToSocketAddrs;
use crate::io::{Error, ErrorKind};
use crate::netpoll::{deadline_from, Mode};
use crate::sys::{nr, syscall6};
use crate::time::Instant;

const SOCK_DGRAM: usize = 2;
const MSG_NOSIGNAL: usize = 0x4000;

/// A UDP socket (Go's net.UDPConn). Methods take `&self`; deadlines and close behave as
/// [`TcpStream`](super::TcpStream)'s.
pub struct UdpSocket {
    fd: NetFd,
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0 picks a free port): the first of its addresses that
    /// works ([`ToSocketAddrs`]).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<UdpSocket, Error> {
        each_addr(addr, Self::bind_one)
    }

    fn bind_one(addr: SocketAddr) -> Result<UdpSocket, Error> {
        let s = fd::socket(if addr.is_ipv4() { AF_INET } else { AF_INET6 }, SOCK_DGRAM)?;
        let ra = RawAddr::from(&addr);
        // SAFETY: ra is a valid sockaddr of ra.len bytes.
        let r = unsafe { syscall6(nr::BIND, s, ra.bytes.as_ptr() as usize, ra.len as usize, 0, 0, 0) };
        if r < 0 {
            fd::close_raw(s);
            return Err(os_error(r));
        }
        Ok(UdpSocket { fd: NetFd::new(s)? })
    }

    /// Sends one datagram to `addr` (its first address, [`ToSocketAddrs`]); returns the bytes
    /// sent.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> Result<usize, Error> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or(Error::new(ErrorKind::InvalidInput, "no addresses to send data to"))?;
        let ra = RawAddr::from(&addr);
        self.fd.write_with(|fd| {
            // SAFETY: buf and ra are valid for the kernel's reads.
            unsafe {
                syscall6(
                    nr::SENDTO,
                    fd,
                    buf.as_ptr() as usize,
                    buf.len(),
                    MSG_NOSIGNAL,
                    ra.bytes.as_ptr() as usize,
                    ra.len as usize,
                )
            }
        })
    }

    /// Receives one datagram (parks until one arrives); a datagram longer than `buf` is cut.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), Error> {
        let mut ra = RawAddr::empty();
        let n = self.fd.read_with(|fd| {
            ra = RawAddr::empty();
            // SAFETY: buf and ra are valid for the kernel's writes.
            unsafe {
                syscall6(
                    nr::RECVFROM,
                    fd,
                    buf.as_mut_ptr() as usize,
                    buf.len(),
                    0,
                    ra.bytes.as_mut_ptr() as usize,
                    &mut ra.len as *mut u32 as usize,
                )
            }
        })?;
        Ok((n, ra.to_addr().ok_or_else(fd::bad_family)?))
    }

    /// Sets the default peer: `send` goes there and only its datagrams are received. The first
    /// of its addresses that works ([`ToSocketAddrs`]).
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> Result<(), Error> {
        each_addr(addr, |a| self.connect_one(a))
    }

    fn connect_one(&self, addr: SocketAddr) -> Result<(), Error> {
        let u = self.fd.use_fd()?;
        let ra = RawAddr::from(&addr);
        // SAFETY: ra is a valid sockaddr (UDP connect does not block).
        let r = unsafe { syscall6(nr::CONNECT, self.fd.raw(&u), ra.bytes.as_ptr() as usize, ra.len as usize, 0, 0, 0) };
        if r < 0 {
            return Err(os_error(r));
        }
        Ok(())
    }

    /// Sends one datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> Result<usize, Error> {
        self.fd.write_with(|fd| {
            // SAFETY: buf is valid for the kernel's reads.
            unsafe { syscall6(nr::SENDTO, fd, buf.as_ptr() as usize, buf.len(), MSG_NOSIGNAL, 0, 0) }
        })
    }

    /// Receives one datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        // SAFETY: buf is valid for the kernel's writes.
        self.fd.read_with(|fd| unsafe { syscall6(nr::RECVFROM, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) })
    }

    /// The local address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.fd.use_fd()?;
        let mut ra = RawAddr::empty();
        // SAFETY: ra is valid for the kernel's writes.
        let r = unsafe {
            syscall6(
                nr::GETSOCKNAME,
                self.fd.raw(&u),
                ra.bytes.as_mut_ptr() as usize,
                &mut ra.len as *mut u32 as usize,
                0,
                0,
                0,
            )
        };
        if r < 0 {
            return Err(os_error(r));
        }
        ra.to_addr().ok_or_else(fd::bad_family)
    }

    /// Go's SetReadDeadline (see [`TcpStream::set_read_deadline`](super::TcpStream::set_read_deadline)).
    pub fn set_read_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), Some(Mode::Read))
    }

    /// Go's SetWriteDeadline.
    pub fn set_write_deadline(&self, d: Option<Instant>) -> Result<(), Error> {
        self.fd.set_deadline(deadline_from(d), Some(Mode::Write))
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
