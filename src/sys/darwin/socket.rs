//! darwin: the socket calls behind `gort::net` (Go's syscall package for darwin and the parts of
//! net/sys_cloexec.go and internal/poll that set flags), through libSystem: the contract of
//! `sys/linux/socket.rs` (its module doc lists it), each call returning its result or `-errno`
//! (libSystem's -1 and `__error()` turned into -errno), never retrying and never blocking.
//!
//! What differs from linux: darwin has no SOCK_NONBLOCK/SOCK_CLOEXEC, no accept4 and no
//! MSG_NOSIGNAL. So `socket` and `accept` set O_NONBLOCK (fcntl F_SETFL), FD_CLOEXEC (F_SETFD)
//! and SO_NOSIGPIPE on the new fd, as Go's sysSocket/accept do for darwin (Go sets SO_NOSIGPIPE
//! nowhere, since its SIGPIPE handler ignores a broken pipe on fds other than 1 and 2; gort
//! leaves SIGPIPE's default action, so the option is what keeps a write to a closed peer from
//! killing the process: it returns EPIPE instead). Between `socket` and its fcntl another thread
//! could fork and exec and leak the fd (Go takes syscall.ForkLock around it); gort programs do
//! not fork, so there is no lock. The values are darwin's (`<sys/socket.h>`, `<sys/errno.h>`,
//! Go's zerrors_darwin_*.go), the same on amd64 and arm64.
//!
//! Built and linked for x86_64-apple-darwin and aarch64-apple-darwin, never run (README
//! "Targets"); `linker/libSystem.tbd` lists the symbols. The plain symbol names are the ones Go
//! binds (`accept`, not x86's `accept$UNIX2003`).

use core::ffi::{c_int, c_void};

use super::errno;
use crate::sys::unix::sockaddr::RawAddr;

pub const EINTR: isize = 4;
pub const EAGAIN: isize = 35;
pub const EINPROGRESS: isize = 36;
pub const ECONNABORTED: isize = 53;

pub const AF_UNIX: usize = 1;
pub const AF_INET: usize = 2;
pub const AF_INET6: usize = 30;
pub const SOCK_STREAM: usize = 1;
pub const SOCK_DGRAM: usize = 2;
pub const SOL_SOCKET: usize = 0xffff;
pub const SO_REUSEADDR: usize = 0x4;
pub const SO_ERROR: usize = 0x1007;
pub const SO_BROADCAST: usize = 0x20;
pub const IPPROTO_TCP: usize = 6;
pub const TCP_NODELAY: usize = 1;
pub const IPPROTO_IPV6: usize = 41;
pub const IPV6_V6ONLY: usize = 27;
/// BSD sockaddrs start with a length byte and an 8-bit family.
pub const SOCKADDR_LEN_BYTE: bool = true;
/// The longest unix-socket path: sockaddr_un's 104-byte sun_path less its NUL.
pub const SUN_PATH_MAX: usize = 103;

/// A write to a peer that closed returns EPIPE instead of raising SIGPIPE (per socket).
const SO_NOSIGPIPE: usize = 0x1022;
const F_SETFD: c_int = 2;
const F_GETFL: c_int = 3;
const F_SETFL: c_int = 4;
const FD_CLOEXEC: c_int = 1;
const O_NONBLOCK: c_int = 4;

mod ls {
    use core::ffi::{c_int, c_void};

    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        pub fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int;
        pub fn accept(fd: c_int, addr: *mut c_void, len: *mut u32) -> c_int;
        pub fn bind(fd: c_int, addr: *const c_void, len: u32) -> c_int;
        pub fn listen(fd: c_int, backlog: c_int) -> c_int;
        pub fn connect(fd: c_int, addr: *const c_void, len: u32) -> c_int;
        pub fn recvfrom(fd: c_int, buf: *mut c_void, n: usize, flags: c_int, from: *mut c_void, len: *mut u32)
            -> isize;
        pub fn sendto(fd: c_int, buf: *const c_void, n: usize, flags: c_int, to: *const c_void, len: u32) -> isize;
        pub fn shutdown(fd: c_int, how: c_int) -> c_int;
        pub fn getsockname(fd: c_int, addr: *mut c_void, len: *mut u32) -> c_int;
        pub fn getpeername(fd: c_int, addr: *mut c_void, len: *mut u32) -> c_int;
        pub fn setsockopt(fd: c_int, level: c_int, name: c_int, v: *const c_void, len: u32) -> c_int;
        pub fn getsockopt(fd: c_int, level: c_int, name: c_int, v: *mut c_void, len: *mut u32) -> c_int;
        // Variadic, as in <fcntl.h>: on arm64 darwin a variadic argument goes on the stack, so
        // the declaration must say so (a fixed third parameter would pass it in x2).
        pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        pub fn close(fd: c_int) -> c_int;
    }
}

/// A libSystem result: `r` itself, or -errno when it is negative (-1).
fn ret(r: isize) -> isize {
    if r < 0 {
        -errno()
    } else {
        r
    }
}

/// Go's sysSocket tail for darwin: close-on-exec, non-blocking, no SIGPIPE; closes `fd` and
/// returns -errno if any step fails, else `fd`.
fn set_flags(fd: c_int) -> isize {
    // SAFETY: fcntl on an fd we own; the variadic argument is the int F_SETFD/F_SETFL take.
    let r = unsafe {
        let mut r = ls::fcntl(fd, F_SETFD, FD_CLOEXEC);
        if r >= 0 {
            r = ls::fcntl(fd, F_GETFL);
            if r >= 0 {
                r = ls::fcntl(fd, F_SETFL, r | O_NONBLOCK);
            }
        }
        r
    };
    let r = if r < 0 { -errno() } else { setsockopt_int(fd as usize, SOL_SOCKET, SO_NOSIGPIPE, 1) };
    if r < 0 {
        close(fd as usize);
        return r;
    }
    fd as isize
}

/// Sets FD_CLOEXEC on `fd` (Go's closeonexec; the kqueue fd).
pub(crate) fn closeonexec(fd: usize) {
    // SAFETY: fcntl on an fd the caller owns; the variadic argument is F_SETFD's int.
    unsafe { ls::fcntl(fd as c_int, F_SETFD, FD_CLOEXEC) };
}

/// socket(2), then non-blocking, close-on-exec and SO_NOSIGPIPE.
pub fn socket(family: usize, ty: usize) -> isize {
    // SAFETY: integer arguments.
    let fd = unsafe { ls::socket(family as c_int, ty as c_int, 0) };
    if fd < 0 {
        return -errno();
    }
    set_flags(fd)
}

/// accept(2), then the new fd non-blocking, close-on-exec and SO_NOSIGPIPE (darwin has no
/// accept4); the peer's address in `addr`.
pub fn accept(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for writes of up to addr.len bytes.
    let ns = unsafe { ls::accept(fd as c_int, p as *mut c_void, lp as *mut u32) };
    if ns < 0 {
        return -errno();
    }
    set_flags(ns)
}

/// bind(2).
pub fn bind(fd: usize, addr: &RawAddr) -> isize {
    // SAFETY: addr holds a valid sockaddr of addr.len bytes.
    ret(unsafe { ls::bind(fd as c_int, addr.bytes.as_ptr() as *const c_void, addr.len) } as isize)
}

/// listen(2).
pub fn listen(fd: usize, backlog: usize) -> isize {
    // SAFETY: integer arguments.
    ret(unsafe { ls::listen(fd as c_int, backlog as c_int) } as isize)
}

/// connect(2) (EINPROGRESS on a non-blocking stream socket: wait until writable).
pub fn connect(fd: usize, addr: &RawAddr) -> isize {
    // SAFETY: addr holds a valid sockaddr of addr.len bytes.
    ret(unsafe { ls::connect(fd as c_int, addr.bytes.as_ptr() as *const c_void, addr.len) } as isize)
}

/// recvfrom(2) without an address: read from a stream or a connected datagram socket.
pub fn recv(fd: usize, buf: &mut [u8]) -> isize {
    // SAFETY: buf is valid for writes of its length; no address is asked for.
    ret(unsafe {
        ls::recvfrom(
            fd as c_int,
            buf.as_mut_ptr() as *mut c_void,
            buf.len(),
            0,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    })
}

/// recvfrom(2): one datagram and its sender.
pub fn recvfrom(fd: usize, buf: &mut [u8], from: &mut RawAddr) -> isize {
    from.len = RawAddr::CAPACITY;
    let (p, lp) = from.out_ptrs();
    // SAFETY: buf is valid for writes of its length; p/lp point into `from`.
    ret(unsafe {
        ls::recvfrom(fd as c_int, buf.as_mut_ptr() as *mut c_void, buf.len(), 0, p as *mut c_void, lp as *mut u32)
    })
}

/// send(2) (sendto without an address); SO_NOSIGPIPE makes a closed peer EPIPE, no signal.
pub fn send(fd: usize, buf: &[u8]) -> isize {
    // SAFETY: buf is valid for reads of its length; no address.
    ret(unsafe { ls::sendto(fd as c_int, buf.as_ptr() as *const c_void, buf.len(), 0, core::ptr::null(), 0) })
}

/// sendto(2) (no SIGPIPE: SO_NOSIGPIPE).
pub fn sendto(fd: usize, buf: &[u8], to: &RawAddr) -> isize {
    // SAFETY: buf is valid for reads of its length; `to` holds a sockaddr of to.len bytes.
    ret(unsafe {
        ls::sendto(fd as c_int, buf.as_ptr() as *const c_void, buf.len(), 0, to.bytes.as_ptr() as *const c_void, to.len)
    })
}

/// shutdown(2): `how` is 0 (read), 1 (write) or 2 (both).
pub fn shutdown(fd: usize, how: usize) -> isize {
    // SAFETY: integer arguments.
    ret(unsafe { ls::shutdown(fd as c_int, how as c_int) } as isize)
}

/// getsockname(2).
pub fn getsockname(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for the kernel's writes.
    ret(unsafe { ls::getsockname(fd as c_int, p as *mut c_void, lp as *mut u32) } as isize)
}

/// getpeername(2).
pub fn getpeername(fd: usize, addr: &mut RawAddr) -> isize {
    addr.len = RawAddr::CAPACITY;
    let (p, lp) = addr.out_ptrs();
    // SAFETY: p/lp point into `addr`, valid for the kernel's writes.
    ret(unsafe { ls::getpeername(fd as c_int, p as *mut c_void, lp as *mut u32) } as isize)
}

/// setsockopt(2) with an int value.
pub fn setsockopt_int(fd: usize, level: usize, name: usize, v: i32) -> isize {
    // SAFETY: v is a valid int for the call's duration.
    ret(unsafe { ls::setsockopt(fd as c_int, level as c_int, name as c_int, &v as *const i32 as *const c_void, 4) }
        as isize)
}

/// getsockopt(2) of an int value: the value, or -errno.
pub fn getsockopt_int(fd: usize, level: usize, name: usize) -> Result<i32, isize> {
    let mut v: i32 = 0;
    let mut len: u32 = 4;
    // SAFETY: v and len are valid for writes.
    let r = unsafe {
        ls::getsockopt(fd as c_int, level as c_int, name as c_int, &mut v as *mut i32 as *mut c_void, &mut len)
    };
    if r < 0 {
        Err(-errno())
    } else {
        Ok(v)
    }
}

/// close(2). EINTR is ignored, as Go does: darwin releases the fd anyway.
pub fn close(fd: usize) {
    // SAFETY: integer argument; the caller owns fd and releases it exactly once.
    unsafe { ls::close(fd as c_int) };
}
