//! linux: the socket system calls behind `gort::net` (Go's syscall package for linux, and the
//! parts of internal/poll and net/sock_cloexec.go that pick flags): raw calls, each returning its
//! result or `-errno`, never retrying and never blocking (every socket is created non-blocking).
//! The net package (`net/fd_unix.rs`) retries EINTR and parks on EAGAIN.
//!
//! The contract every unix OS provides here (darwin's file has the same names):
//! `socket` (non-blocking, close-on-exec, and no SIGPIPE on a write to a closed peer), `accept`
//! (the new fd also non-blocking and close-on-exec), `bind`, `listen`, `connect`, `recv`,
//! `recvfrom`, `send` and `sendto` (no SIGPIPE), `shutdown`, `getsockname`, `getpeername`,
//! `setsockopt_int`, `getsockopt_int`, `close`; the errno values the net package tests; the
//! family and option numbers (AF_UNIX included); `SOCKADDR_LEN_BYTE` (BSD sockaddrs start with
//! a length byte); and `SUN_PATH_MAX` (the longest unix-socket path sun_path holds with its NUL).

use super::{nr, syscall6};
use crate::sys::unix::sockaddr::RawAddr;

pub const EINTR: isize = 4;
pub const EAGAIN: isize = 11;
pub const EINPROGRESS: isize = 115;
pub const ECONNABORTED: isize = 103;

pub const AF_UNIX: usize = 1;
pub const AF_INET: usize = 2;
pub const AF_INET6: usize = 10;
pub const SOCK_STREAM: usize = 1;
pub const SOCK_DGRAM: usize = 2;
pub const SOL_SOCKET: usize = 1;
pub const SO_REUSEADDR: usize = 2;
pub const SO_ERROR: usize = 4;
pub const SO_BROADCAST: usize = 6;
pub const IPPROTO_TCP: usize = 6;
pub const TCP_NODELAY: usize = 1;
pub const IPPROTO_IPV6: usize = 41;
pub const IPV6_V6ONLY: usize = 26;
/// linux's sockaddr starts with a 16-bit family, no length byte.
pub const SOCKADDR_LEN_BYTE: bool = false;
/// The longest unix-socket path: sockaddr_un's 108-byte sun_path less its NUL.
pub const SUN_PATH_MAX: usize = 107;

const SOCK_NONBLOCK: usize = 0o4000;
const SOCK_CLOEXEC: usize = 0o2000000;
/// A write to a peer that closed returns EPIPE instead of raising SIGPIPE.
const MSG_NOSIGNAL: usize = 0x4000;

/// socket(2), non-blocking and close-on-exec.
pub fn socket(family: usize, ty: usize) -> isize {
    // SAFETY: integer arguments.
    unsafe { syscall6(nr::SOCKET, family, ty | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0, 0, 0) }
}

/// accept4(2): the new fd non-blocking and close-on-exec; the peer's address in `addr`.
pub fn accept(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for the kernel's writes of up to addr.len bytes.
    unsafe { syscall6(nr::ACCEPT4, fd, p, lp, SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0) }
}

/// bind(2).
pub fn bind(fd: usize, addr: &RawAddr) -> isize {
    // SAFETY: addr holds a valid sockaddr of addr.len bytes.
    unsafe { syscall6(nr::BIND, fd, addr.bytes.as_ptr() as usize, addr.len as usize, 0, 0, 0) }
}

/// listen(2).
pub fn listen(fd: usize, backlog: usize) -> isize {
    // SAFETY: integer arguments.
    unsafe { syscall6(nr::LISTEN, fd, backlog, 0, 0, 0, 0) }
}

/// connect(2) (EINPROGRESS on a non-blocking stream socket: wait until writable).
pub fn connect(fd: usize, addr: &RawAddr) -> isize {
    // SAFETY: addr holds a valid sockaddr of addr.len bytes.
    unsafe { syscall6(nr::CONNECT, fd, addr.bytes.as_ptr() as usize, addr.len as usize, 0, 0, 0) }
}

/// recvfrom(2) without an address: read from a stream or a connected datagram socket.
pub fn recv(fd: usize, buf: &mut [u8]) -> isize {
    // SAFETY: buf is valid for writes of its length.
    unsafe { syscall6(nr::RECVFROM, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) }
}

/// recvfrom(2): one datagram and its sender.
pub fn recvfrom(fd: usize, buf: &mut [u8], from: &mut RawAddr) -> isize {
    from.len = RawAddr::CAPACITY;
    let (p, lp) = from.out_ptrs();
    // SAFETY: buf is valid for writes of its length; p/lp point into `from`.
    unsafe { syscall6(nr::RECVFROM, fd, buf.as_mut_ptr() as usize, buf.len(), 0, p, lp) }
}

/// send(2) (sendto without an address), with MSG_NOSIGNAL.
pub fn send(fd: usize, buf: &[u8]) -> isize {
    // SAFETY: buf is valid for reads of its length.
    unsafe { syscall6(nr::SENDTO, fd, buf.as_ptr() as usize, buf.len(), MSG_NOSIGNAL, 0, 0) }
}

/// sendto(2) with MSG_NOSIGNAL.
pub fn sendto(fd: usize, buf: &[u8], to: &RawAddr) -> isize {
    // SAFETY: buf is valid for reads of its length; `to` holds a sockaddr of to.len bytes.
    unsafe {
        syscall6(
            nr::SENDTO,
            fd,
            buf.as_ptr() as usize,
            buf.len(),
            MSG_NOSIGNAL,
            to.bytes.as_ptr() as usize,
            to.len as usize,
        )
    }
}

/// shutdown(2): `how` is 0 (read), 1 (write) or 2 (both) on every unix.
pub fn shutdown(fd: usize, how: usize) -> isize {
    // SAFETY: integer arguments.
    unsafe { syscall6(nr::SHUTDOWN, fd, how, 0, 0, 0, 0) }
}

/// getsockname(2).
pub fn getsockname(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for the kernel's writes.
    unsafe { syscall6(nr::GETSOCKNAME, fd, p, lp, 0, 0, 0) }
}

/// getpeername(2).
pub fn getpeername(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for the kernel's writes.
    unsafe { syscall6(nr::GETPEERNAME, fd, p, lp, 0, 0, 0) }
}

/// setsockopt(2) with an int value.
pub fn setsockopt_int(fd: usize, level: usize, name: usize, v: i32) -> isize {
    // SAFETY: v is a valid int for the call's duration.
    unsafe { syscall6(nr::SETSOCKOPT, fd, level, name, &v as *const i32 as usize, 4, 0) }
}

/// getsockopt(2) of an int value: the value, or -errno.
pub fn getsockopt_int(fd: usize, level: usize, name: usize) -> Result<i32, isize> {
    let mut v: i32 = 0;
    let mut len: u32 = 4;
    // SAFETY: v and len are valid for writes.
    let r = unsafe {
        syscall6(nr::GETSOCKOPT, fd, level, name, &mut v as *mut i32 as usize, &mut len as *mut u32 as usize, 0)
    };
    if r < 0 {
        Err(r)
    } else {
        Ok(v)
    }
}

/// close(2). EINTR is ignored, as Go does: linux releases the fd anyway.
pub fn close(fd: usize) {
    // SAFETY: integer argument; the caller owns fd and releases it exactly once.
    unsafe { syscall6(nr::CLOSE, fd, 0, 0, 0, 0, 0) };
}
