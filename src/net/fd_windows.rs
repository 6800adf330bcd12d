//! A socket on the poller, windows (Go's internal/poll/fd_windows.go + fd_mutex.go, and net's
//! fd_windows.go + sock_windows.go): the SOCKET, its poll descriptor, the fd mutex, one
//! overlapped [`Operation`] per side, and the same socket operations as `fd_unix.rs` (tcp.rs
//! and udp.rs are written in them), on Winsock's completion I/O. The calls are
//! `sys/windows/socket.rs`; the completion port is `netpoll/iocp.rs`.
//!
//! # exec_io, and why the buffers stay valid (the soundness argument)
//!
//! Every read and write is Go's execIO: start the overlapped call (WSARecv, WSASend,
//! WSARecvFrom, WSASendTo, AcceptEx, ConnectEx) with the side's OVERLAPPED, then park in
//! `PollDesc::wait` until the completion packet readies us. While the operation is pending the
//! kernel may write the caller's buffer (a `&mut [u8]` the call borrows), the OVERLAPPED, the
//! flags word and the address buffers at any time. So `exec_io` never returns, by any path,
//! before the operation's completion packet was dequeued and handled by `netpoll`:
//! - normal completion: the packet readied us; the outcome is in the operation;
//! - a deadline or close wakes the wait first: we `CancelIoEx` the operation (ERROR_NOT_FOUND
//!   means it already completed: its packet is queued or handled) and then park again in
//!   `PollDesc::wait_canceled` (Go's pollWaitCanceled), which ignores deadlines and closing and
//!   only returns once the packet readied the side. Then the operation either was aborted (we
//!   report the deadline or close) or completed first (we report its bytes, as Go: they moved);
//! - a call that fails to start (not WSA_IO_PENDING) queues no packet and returns at once;
//! - a panic cannot leave early: gort aborts the process on panic (no unwinding), so no frame
//!   (and no buffer in it) is popped under a pending operation.
//!
//! Hence, while the kernel may use them: the caller's buffer is still borrowed by the call (the
//! goroutine's stack or heap does not move: gort never moves stacks); the `Ops` box that holds
//! the OVERLAPPEDs, the flags and the address buffers belongs to the `NetFd`, which the call
//! borrows (`&self`), so it is neither moved nor dropped; and the SOCKET is not closed, since
//! close only releases it when the last call in flight returns (the fd mutex's count). Only one
//! operation per side is ever pending: a side's operation is used only under that side's lock
//! (reads under `rmu`, writes and connect under `wmu`), so `Operation::start` never reuses an
//! OVERLAPPED the kernel still holds. That `netpoll` may dereference the operation when its
//! packet arrives follows from the same facts.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::net::SocketAddr;

use super::fd_mutex::{self, FdMutex, Release};
use super::Shutdown;
use crate::io::{Error, ErrorKind};
use crate::netpoll::{deadline_from, Mode, Operation, Overlapped, PollDesc};
use crate::sys::socket::{self as sys, RawAddr, WsaBuf};
use crate::time::Instant;

/// What kind of socket (Go's sotype).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// SOCK_STREAM (TCP).
    Stream,
    /// SOCK_DGRAM (UDP).
    Datagram,
}

/// The two sides' operations and the buffers the kernel keeps using while one is pending (Go's
/// FD.rop / FD.wop with their buf, flags, rsa, rsan). Heap-allocated with the NetFd.
struct Ops {
    rop: Operation,
    wop: Operation,
    /// The read side's WSABUF, flags word, sender address (WSARecvFrom) and AcceptEx output.
    rbuf: UnsafeCell<WsaBuf>,
    rflags: UnsafeCell<u32>,
    rsa: UnsafeCell<RawAddr>,
    accept: UnsafeCell<[u8; 2 * sys::ACCEPT_ADDR_LEN]>,
    accept_n: UnsafeCell<u32>,
    /// The write side's WSABUF.
    wbuf: UnsafeCell<WsaBuf>,
}

// SAFETY: the cells of each side are used only by the goroutine holding that side's lock (and
// by the kernel, through the raw pointers it was given, until the completion: module doc); the
// operations are Sync.
unsafe impl Sync for Ops {}
// SAFETY: as above; nothing in it is tied to a thread.
unsafe impl Send for Ops {}

/// Go's poll.FD on windows: an overlapped socket associated with the completion port.
pub(super) struct NetFd {
    fd: usize,
    pd: &'static PollDesc,
    mu: FdMutex,
    kind: Kind,
    /// The socket's address family (for the sockets AcceptEx fills).
    family: i32,
    ops: Box<Ops>,
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
    /// Go's FD.destroy: no operation is pending (every call waited for its completion).
    fn destroy(&self) {
        self.pd.close();
        sys::close(self.fd);
    }
}

/// A Winsock error code as an Error.
fn os_error(e: i32) -> Error {
    Error::from_raw_os_error(e)
}

/// The address Winsock wrote, or an error for a family gort does not know.
fn addr_of(ra: &RawAddr) -> Result<SocketAddr, Error> {
    ra.to_addr().ok_or_else(|| Error::new(ErrorKind::InvalidData, "unknown address family"))
}

impl NetFd {
    /// Takes ownership of socket `fd` and associates it with the completion port; closes it
    /// on failure (Go's FD.Init).
    fn new(fd: usize, kind: Kind, family: i32) -> Result<NetFd, Error> {
        let pd = match crate::netpoll::poll_open(fd) {
            Ok(pd) => pd,
            Err(e) => {
                sys::close(fd);
                return Err(os_error(e));
            }
        };
        let ops = Box::new(Ops {
            rop: Operation::new(pd, Mode::Read),
            wop: Operation::new(pd, Mode::Write),
            rbuf: UnsafeCell::new(WsaBuf::EMPTY),
            rflags: UnsafeCell::new(0),
            rsa: UnsafeCell::new(RawAddr::empty()),
            accept: UnsafeCell::new([0; 2 * sys::ACCEPT_ADDR_LEN]),
            accept_n: UnsafeCell::new(0),
            wbuf: UnsafeCell::new(WsaBuf::EMPTY),
        });
        Ok(NetFd { fd, pd, mu: FdMutex::new(), kind, family, ops })
    }

    /// Go's socket (sock_posix.go / sock_windows.go): an overlapped socket for `addr`'s family
    /// with Go's default options, `setup` run on it (bind, listen), then associated with the
    /// port. The socket is closed if any step fails.
    fn socket(addr: &SocketAddr, kind: Kind, setup: impl FnOnce(usize) -> Result<(), i32>) -> Result<NetFd, Error> {
        let family = if addr.is_ipv4() { sys::AF_INET } else { sys::AF_INET6 };
        let ty = match kind {
            Kind::Stream => sys::SOCK_STREAM,
            Kind::Datagram => sys::SOCK_DGRAM,
        };
        let s = sys::socket(family, ty).map_err(os_error)?;
        let init = || -> Result<(), i32> {
            // Go's setDefaultSockopts: an IPv6 wildcard socket also serves IPv4 (dual stack);
            // any other IPv6 socket is IPv6 only. Datagram sockets may broadcast and, as Go
            // sets them, do not report an ICMP port unreachable as a reset.
            if family == sys::AF_INET6 {
                let v6only = !addr.ip().is_unspecified();
                sys::setsockopt_int(s, sys::IPPROTO_IPV6, sys::IPV6_V6ONLY, v6only as i32)?;
            }
            if kind == Kind::Datagram {
                sys::setsockopt_int(s, sys::SOL_SOCKET, sys::SO_BROADCAST, 1)?;
                sys::udp_no_connreset(s)?;
            }
            setup(s)
        };
        if let Err(e) = init() {
            sys::close(s);
            return Err(os_error(e));
        }
        NetFd::new(s, kind, family)
    }

    /// Go's listenStream: a stream socket bound to `addr` (port 0 picks one), listening. Go sets
    /// no SO_REUSEADDR on windows (there it would let another socket steal the port).
    pub(super) fn listen_stream(addr: &SocketAddr) -> Result<NetFd, Error> {
        NetFd::socket(addr, Kind::Stream, |s| {
            sys::bind_addr(s, &RawAddr::from(addr))?;
            sys::listen_backlog(s, sys::SOMAXCONN)
        })
    }

    /// Go's listenDatagram: a datagram socket bound to `addr`.
    pub(super) fn listen_datagram(addr: &SocketAddr) -> Result<NetFd, Error> {
        NetFd::socket(addr, Kind::Datagram, |s| sys::bind_addr(s, &RawAddr::from(addr)))
    }

    /// Go's dial for a stream socket (netFD.connect on windows): bind to the wildcard (ConnectEx
    /// wants a bound socket), ConnectEx, parked until the handshake ends or `deadline` passes,
    /// then SO_UPDATE_CONNECT_CONTEXT.
    pub(super) fn dial_stream(addr: &SocketAddr, deadline: Option<Instant>) -> Result<NetFd, Error> {
        let fd = NetFd::socket(addr, Kind::Stream, |s| sys::bind_addr(s, &RawAddr::wildcard_like(addr)))?;
        {
            let u = fd_mutex::lock(&fd, Mode::Write)?;
            if deadline.is_some() {
                fd.pd.set_deadline(deadline_from(deadline), Some(Mode::Write));
            }
            let ra = RawAddr::from(addr);
            let s = fd.raw(&u);
            // SAFETY: the OVERLAPPED is the write operation's, held until exec_io has seen its
            // completion; `ra` is read during the call only.
            let r = fd.exec_io(&u, Mode::Write, |o| unsafe { sys::connect_ex(s, &ra, o) });
            if deadline.is_some() {
                fd.pd.set_deadline(0, Some(Mode::Write));
            }
            r?;
            sys::update_connect_context(s).map_err(os_error)?;
        }
        Ok(fd)
    }

    /// Go's FD.AcceptFunc with acceptOne: a fresh socket, AcceptEx into it (parked until a
    /// connection comes), SO_UPDATE_ACCEPT_CONTEXT; a connection reset before we took it is
    /// skipped, as Go does.
    pub(super) fn accept(&self) -> Result<(NetFd, SocketAddr), Error> {
        let u = fd_mutex::lock(self, Mode::Read)?;
        let l = self.raw(&u);
        loop {
            let ns = sys::socket(self.family, sys::SOCK_STREAM).map_err(os_error)?;
            let ops = &*self.ops;
            // SAFETY: the read operation and its AcceptEx buffers are used under the read lock
            // we hold, and exec_io returns only after the completion (module doc).
            let r = self.exec_io(&u, Mode::Read, |o| unsafe {
                sys::accept_ex(l, ns, ops.accept.get().cast(), ops.accept_n.get(), o)
            });
            match r {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(sys::ERROR_NETNAME_DELETED | sys::WSAECONNRESET)) => {
                    sys::close(ns);
                    continue;
                }
                Err(e) => {
                    sys::close(ns);
                    return Err(e);
                }
            }
            if let Err(e) = sys::update_accept_context(ns, l) {
                sys::close(ns);
                return Err(os_error(e));
            }
            let mut ra = RawAddr::empty();
            if let Err(e) = sys::peername(ns, &mut ra) {
                sys::close(ns);
                return Err(os_error(e));
            }
            let peer = addr_of(&ra);
            let nfd = NetFd::new(ns, Kind::Stream, self.family)?;
            return Ok((nfd, peer?));
        }
    }

    /// Go's FD.Read: what is there, parked until something is; 0 is end of file.
    pub(super) fn read(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let u = fd_mutex::lock(self, Mode::Read)?;
        let s = self.raw(&u);
        let ops = &*self.ops;
        // SAFETY: the read side's cells are ours under the read lock; `buf` is borrowed until
        // exec_io returns, which is after the completion (module doc).
        self.exec_io(&u, Mode::Read, |o| unsafe {
            ops.rbuf.get().write(WsaBuf::new(buf.as_mut_ptr(), buf.len()));
            ops.rflags.get().write(0);
            sys::recv(s, ops.rbuf.get(), ops.rflags.get(), o)
        })
    }

    /// Go's FD.Write for one call's worth (WSASend completes when the stack took all of it).
    pub(super) fn write(&self, buf: &[u8]) -> Result<usize, Error> {
        let u = fd_mutex::lock(self, Mode::Write)?;
        let s = self.raw(&u);
        let ops = &*self.ops;
        // SAFETY: the write side's cell is ours under the write lock; `buf` as in read.
        self.exec_io(&u, Mode::Write, |o| unsafe {
            ops.wbuf.get().write(WsaBuf::new(buf.as_ptr(), buf.len()));
            sys::send(s, ops.wbuf.get(), o)
        })
    }

    /// Go's FD.ReadFrom: one datagram and its sender.
    pub(super) fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), Error> {
        let u = fd_mutex::lock(self, Mode::Read)?;
        let s = self.raw(&u);
        let ops = &*self.ops;
        // SAFETY: as in read; the sender address cell too.
        let n = self.exec_io(&u, Mode::Read, |o| unsafe {
            ops.rbuf.get().write(WsaBuf::new(buf.as_mut_ptr(), buf.len()));
            ops.rflags.get().write(0);
            sys::recvfrom(s, ops.rbuf.get(), ops.rflags.get(), ops.rsa.get(), o)
        })?;
        // SAFETY: the operation completed; the cell is ours under the read lock.
        let from = addr_of(unsafe { &*ops.rsa.get() })?;
        Ok((n, from))
    }

    /// Go's FD.WriteTo: one datagram to `addr`.
    pub(super) fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> Result<usize, Error> {
        let u = fd_mutex::lock(self, Mode::Write)?;
        let s = self.raw(&u);
        let ops = &*self.ops;
        let ra = RawAddr::from(addr);
        // SAFETY: as in write; `ra` is read during the call only.
        self.exec_io(&u, Mode::Write, |o| unsafe {
            ops.wbuf.get().write(WsaBuf::new(buf.as_ptr(), buf.len()));
            sys::sendto(s, ops.wbuf.get(), &ra, o)
        })
    }

    /// connect on a datagram socket: sets the default peer (does not block).
    pub(super) fn connect_datagram(&self, addr: &SocketAddr) -> Result<(), Error> {
        let u = self.use_fd()?;
        sys::connect_addr(self.raw(&u), &RawAddr::from(addr)).map_err(os_error)
    }

    /// Go's FD.Shutdown.
    pub(super) fn shutdown(&self, how: Shutdown) -> Result<(), Error> {
        let u = self.use_fd()?;
        let h = match how {
            Shutdown::Read => 0,
            Shutdown::Write => 1,
            Shutdown::Both => 2,
        };
        sys::shutdown_how(self.raw(&u), h).map_err(os_error)
    }

    /// The local address (getsockname).
    pub(super) fn local_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.use_fd()?;
        let mut ra = RawAddr::empty();
        sys::sockname(self.raw(&u), &mut ra).map_err(os_error)?;
        addr_of(&ra)
    }

    /// The remote address (getpeername).
    pub(super) fn peer_addr(&self) -> Result<SocketAddr, Error> {
        let u = self.use_fd()?;
        let mut ra = RawAddr::empty();
        sys::peername(self.raw(&u), &mut ra).map_err(os_error)?;
        addr_of(&ra)
    }

    /// TCP_NODELAY.
    pub(super) fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        let u = self.use_fd()?;
        sys::setsockopt_int(self.raw(&u), sys::IPPROTO_TCP, sys::TCP_NODELAY, on as i32).map_err(os_error)
    }

    /// A call that neither reads nor writes.
    fn use_fd(&self) -> Result<Use<'_>, Error> {
        fd_mutex::use_fd(self)
    }

    /// The raw socket (valid while a `Use` is held).
    fn raw(&self, _u: &Use<'_>) -> usize {
        self.fd
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

    /// Go's execIO: starts `submit` on the side's operation and waits for its completion; on a
    /// deadline or close, cancels it and still waits for the completion (module doc: the
    /// kernel may use the buffers until then). The caller holds `mode`'s lock (`u`).
    fn exec_io(
        &self,
        _u: &Use<'_>,
        mode: Mode,
        submit: impl FnOnce(*mut Overlapped) -> Result<(), i32>,
    ) -> Result<usize, Error> {
        let op = match mode {
            Mode::Read => &self.ops.rop,
            Mode::Write => &self.ops.wop,
        };
        // Go's pd.prepare: closed or past the deadline fails before anything starts.
        self.pd.prepare(mode)?;
        // SAFETY: we hold this side's lock and the last operation on it completed (exec_io
        // never returns before that).
        let o = unsafe { op.start() };
        // Started (pending, or done at once: a packet comes either way), or failed (no packet).
        submit(o).map_err(os_error)?;
        let werr = match self.pd.wait(mode) {
            Ok(()) => {
                // SAFETY: its completion was dequeued (that readied us).
                let (errno, qty) = unsafe { sys::overlapped_result(self.fd, o) };
                return self.outcome(errno, qty);
            }
            Err(e) => e,
        };
        // A deadline or close: cancel, then wait for the cancelled operation's packet.
        // SAFETY: o is this side's pending (or just completed) operation on our socket.
        if let Err(e) = unsafe { crate::sys::socket::cancel(self.fd, o) } {
            crate::print::fatal_fmt(format_args!("runtime: CancelIoEx failed (errno={e})"));
        }
        self.pd.wait_canceled(mode);
        // SAFETY: as above.
        match unsafe { sys::overlapped_result(self.fd, o) } {
            (e, _) if e as i32 == sys::ERROR_OPERATION_ABORTED => Err(Error::from(werr)),
            // Completed before the cancel: the bytes moved (Go reports them too).
            (e, qty) => self.outcome(e, qty),
        }
    }

    /// A completed operation's (error, bytes) as the call's result. A datagram longer than the
    /// buffer arrives cut, as on unix (windows reports WSAEMSGSIZE with the bytes that fit).
    fn outcome(&self, errno: u32, qty: u32) -> Result<usize, Error> {
        match errno as i32 {
            0 => Ok(qty as usize),
            sys::WSAEMSGSIZE | sys::ERROR_MORE_DATA if self.kind == Kind::Datagram => Ok(qty as usize),
            e => Err(os_error(e)),
        }
    }
}

impl Drop for NetFd {
    fn drop(&mut self) {
        // The owner goes away: close if nobody did (no call can be in flight: they borrow self).
        let _ = self.close();
    }
}
