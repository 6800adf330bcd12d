//! TCP, UDP and unix-domain sockets over the network poller (Go's net package): linux on epoll,
//! windows on IOCP (no unix-domain sockets there), darwin on kqueue (built, never run).
//!
//! Every socket is non-blocking and close-on-exec. A call that would block (EAGAIN) parks the
//! goroutine on the poller, never the thread: ten thousand connections waiting cost ten thousand
//! parked goroutines and one M blocked in `epoll_pwait` (darwin: `kevent`).
//!
//! Methods take `&self`, so one goroutine may read while another writes and a third closes (Go's
//! model: share the socket in an `Arc`). [`TcpStream::close`] (or the drop of the last owner)
//! wakes every goroutine blocked on the socket with [`ErrorKind::Closed`](crate::io::ErrorKind);
//! the fd itself is released only when no call is using it any more (Go's fdMutex reference
//! count), so it can never be reused under a call in flight. Reads are serialised with reads,
//! writes with writes (Go's fd read and write locks).
//!
//! Deadlines follow Go: [`TcpStream::set_read_deadline`] takes an [`Instant`](crate::time::Instant)
//! (`None` clears it). Once it passes, the pending read and every later one fail with
//! [`ErrorKind::TimedOut`](crate::io::ErrorKind) until the deadline is reset; a deadline already
//! in the past fails at once. Writes to a peer that closed return `BrokenPipe` or
//! `ConnectionReset` (sent with MSG_NOSIGNAL on linux, SO_NOSIGPIPE on darwin: SIGPIPE never
//! kills the process). Unix-domain sockets: [`UnixListener`], [`UnixStream`] (unix.rs).
//!
//! Addresses are anything that implements [`ToSocketAddrs`] (std's trait, in gort): a
//! `SocketAddr`, `(IpAddr, u16)`, `"host:port"`, `"[::1]:80"`, `("example.com", 443)`... A name
//! is resolved by [`lookup_host`] (Go's pure resolver: numeric, `/etc/hosts`, `localhost`, then
//! DNS over UDP, TCP on truncation, to the servers of `/etc/resolv.conf`; a [`Resolver`] can
//! replace any part of that configuration), and [`TcpStream::connect`] tries each address in
//! turn (Go's dialSerial). DNS queries park on the poller like any other read.
//!
//! ```
//! use gort::net::{TcpListener, TcpStream};
//! let l = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = l.local_addr().unwrap();
//! gort::go(move || {
//!     let (c, _) = l.accept().unwrap();
//!     let mut buf = [0u8; 5];
//!     let n = c.read(&mut buf).unwrap();
//!     c.write_all(&buf[..n]).unwrap();
//! });
//! let c = TcpStream::connect(addr).unwrap();
//! c.write_all(b"hello").unwrap();
//! let mut buf = [0u8; 5];
//! c.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"hello");
//! ```

mod dial;
mod dnsclient;
// pub(crate): the fuzz harness (src/fuzz.rs) reads hostile files with these.
pub(crate) mod dnsconfig;
// pub(crate): the fuzz harness (src/fuzz.rs) parses hostile messages with it.
pub(crate) mod dnsmessage;
#[cfg_attr(unix, path = "fd_unix.rs")]
#[cfg_attr(windows, path = "fd_windows.rs")]
mod fd;
mod fd_mutex;
pub(crate) mod hosts;
mod ipsock;
mod lookup;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

/// The reads, writes, shutdown, deadline setters and `close` of a connected stream (TcpStream,
/// UnixStream), written once: expands inside the type's `impl` block, over its `fd: NetFd`.
macro_rules! stream_methods {
    () => {
        /// Reads what is there (parks until something is); Ok(0) is end of file.
        pub fn read(&self, buf: &mut [u8]) -> Result<usize, crate::io::Error> {
            if buf.is_empty() {
                return Ok(0);
            }
            self.fd.read(buf)
        }

        /// Fills `buf`, or fails (UnexpectedEof if the peer closed first).
        pub fn read_exact(&self, mut buf: &mut [u8]) -> Result<(), crate::io::Error> {
            while !buf.is_empty() {
                match self.read(buf)? {
                    0 => return Err(crate::io::Error::from_kind(crate::io::ErrorKind::UnexpectedEof)),
                    n => buf = &mut buf[n..],
                }
            }
            Ok(())
        }

        /// Writes some of `buf` (parks until the socket takes at least one byte). A peer that
        /// closed makes it fail with BrokenPipe or ConnectionReset (no SIGPIPE).
        pub fn write(&self, buf: &[u8]) -> Result<usize, crate::io::Error> {
            if buf.is_empty() {
                return Ok(0);
            }
            self.fd.write(buf)
        }

        /// Writes all of `buf` (Go's Write).
        pub fn write_all(&self, mut buf: &[u8]) -> Result<(), crate::io::Error> {
            while !buf.is_empty() {
                match self.write(buf)? {
                    0 => return Err(crate::io::Error::from_kind(crate::io::ErrorKind::WriteZero)),
                    n => buf = &buf[n..],
                }
            }
            Ok(())
        }

        /// Closes one or both directions (Go's CloseRead / CloseWrite).
        pub fn shutdown(&self, how: super::Shutdown) -> Result<(), crate::io::Error> {
            self.fd.shutdown(how)
        }

        /// Go's SetReadDeadline: once `d` passes, the pending read and all later ones fail with
        /// TimedOut until the deadline is reset; `None` clears it.
        pub fn set_read_deadline(&self, d: Option<crate::time::Instant>) -> Result<(), crate::io::Error> {
            self.fd.set_deadline(d, Some(crate::netpoll::Mode::Read))
        }

        /// Go's SetWriteDeadline (as set_read_deadline, for writes).
        pub fn set_write_deadline(&self, d: Option<crate::time::Instant>) -> Result<(), crate::io::Error> {
            self.fd.set_deadline(d, Some(crate::netpoll::Mode::Write))
        }

        /// Go's SetDeadline: both.
        pub fn set_deadline(&self, d: Option<crate::time::Instant>) -> Result<(), crate::io::Error> {
            self.fd.set_deadline(d, None)
        }

        /// Closes the connection: every goroutine blocked on it fails with Closed, later calls too;
        /// the fd is released when the last call in flight returns. Dropping does the same.
        pub fn close(&self) -> Result<(), crate::io::Error> {
            self.fd.close()
        }
    };
}
use stream_methods;

/// `embedded_io::{ErrorType, Read, Write}` for a stream type and for a shared reference to it
/// (methods take `&self`), through its inherent `read` and `write`.
macro_rules! stream_io_traits {
    ($t:ident) => {
        impl embedded_io::ErrorType for $t {
            type Error = crate::io::Error;
        }

        impl embedded_io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, crate::io::Error> {
                $t::read(self, buf)
            }
        }

        impl embedded_io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> Result<usize, crate::io::Error> {
                $t::write(self, buf)
            }
            fn flush(&mut self) -> Result<(), crate::io::Error> {
                Ok(())
            }
        }

        impl embedded_io::ErrorType for &$t {
            type Error = crate::io::Error;
        }

        impl embedded_io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, crate::io::Error> {
                $t::read(self, buf)
            }
        }

        impl embedded_io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> Result<usize, crate::io::Error> {
                $t::write(self, buf)
            }
            fn flush(&mut self) -> Result<(), crate::io::Error> {
                Ok(())
            }
        }
    };
}
use stream_io_traits;

pub use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
pub use ipsock::ToSocketAddrs;
pub use lookup::{lookup_host, Resolver};
pub use tcp::{Shutdown, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixAddr, UnixListener, UnixStream};
