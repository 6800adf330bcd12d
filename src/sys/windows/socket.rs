//! windows: the Winsock calls behind `gort::net` (Go's syscall package for windows and the
//! parts of internal/poll/fd_windows.go and net/sock_windows.go that pick flags): ws2_32 through
//! `raw-dylib`, as every windows import. This is windows' socket-call contract, as
//! `sys/linux/socket.rs` is linux's, but shaped for completion I/O: the overlapped calls
//! (`recv`, `send`, `recvfrom`, `sendto`, `accept_ex`, `connect_ex`) only *start* an operation on
//! a caller's OVERLAPPED and return `Ok(())` (started, or done at once: a completion packet comes
//! either way) or the error (`WSA_IO_PENDING` means started too); the net package
//! (`net/fd_windows.rs`) waits for the completion on the poller (`netpoll/iocp.rs`).
//!
//! Sockets are `SOCKET` handles (`usize`), created overlapped and not inheritable
//! (`WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT`, as Go). WSAStartup runs once, at the
//! first socket or name lookup. AcceptEx and ConnectEx are mswsock's, but a program imports only
//! ws2_32: their addresses come from `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER)`, as Go gets
//! them. Errors are Winsock codes (`WSAGetLastError`), which `sys::error_kind` maps.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::io::Error;
use crate::netpoll::Overlapped;

pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 23;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOL_SOCKET: i32 = 0xffff;
pub const SO_BROADCAST: i32 = 0x20;
pub const SO_UPDATE_ACCEPT_CONTEXT: i32 = 0x700b;
pub const SO_UPDATE_CONNECT_CONTEXT: i32 = 0x7010;
pub const IPPROTO_TCP: i32 = 6;
pub const TCP_NODELAY: i32 = 1;
pub const IPPROTO_IPV6: i32 = 41;
pub const IPV6_V6ONLY: i32 = 27;
pub const SOMAXCONN: i32 = 0x7fff_ffff;

/// An overlapped operation was started and will complete later (ERROR_IO_PENDING).
pub const WSA_IO_PENDING: i32 = 997;
/// The operation was cancelled (CancelIoEx, or the socket closed).
pub const ERROR_OPERATION_ABORTED: i32 = 995;
/// CancelIoEx found nothing to cancel: the operation already completed.
pub const ERROR_NOT_FOUND: i32 = 1168;
/// The peer reset the connection before AcceptEx took it (Go retries).
pub const ERROR_NETNAME_DELETED: i32 = 64;
pub const WSAECONNRESET: i32 = 10054;
/// A datagram longer than the buffer (ERROR_MORE_DATA as a Winsock code): cut, as on unix.
pub const WSAEMSGSIZE: i32 = 10040;
pub const ERROR_MORE_DATA: i32 = 234;
const WSAEINVAL: i32 = 10022;

const INVALID_SOCKET: usize = usize::MAX;
const SOCKET_ERROR: i32 = -1;
const WSA_FLAG_OVERLAPPED: u32 = 0x01;
const WSA_FLAG_NO_HANDLE_INHERIT: u32 = 0x80;
const SIO_GET_EXTENSION_FUNCTION_POINTER: u32 = 0xc800_0006;
/// IOC_IN | IOC_VENDOR | 12: whether a UDP socket reports an ICMP port unreachable as
/// WSAECONNRESET on its next receive.
const SIO_UDP_CONNRESET: u32 = 0x9800_000c;

/// WSABUF.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WsaBuf {
    len: u32,
    buf: *mut u8,
}

impl WsaBuf {
    /// An empty buffer.
    pub const EMPTY: WsaBuf = WsaBuf { len: 0, buf: core::ptr::null_mut() };

    /// Describes `[p, p + n)`, at most 1 GB (Go's maxRW).
    pub fn new(p: *const u8, n: usize) -> WsaBuf {
        WsaBuf { len: n.min(1 << 30) as u32, buf: p as *mut u8 }
    }
}

/// A GUID (the extension functions' ids).
#[repr(C)]
struct Guid(u32, u16, u16, [u8; 8]);

const WSAID_ACCEPTEX: Guid = Guid(0xb536_7df1, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]);
const WSAID_CONNECTEX: Guid = Guid(0x25a2_07b9, 0xddf3, 0x4660, [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e]);

type AcceptExFn = unsafe extern "system" fn(
    listen: usize,
    accept: usize,
    out: *mut u8,
    recv_len: u32,
    local_len: u32,
    remote_len: u32,
    received: *mut u32,
    o: *mut Overlapped,
) -> i32;
type ConnectExFn = unsafe extern "system" fn(
    s: usize,
    name: *const u8,
    namelen: i32,
    send: *const u8,
    send_len: u32,
    sent: *mut u32,
    o: *mut Overlapped,
) -> i32;

/// ADDRINFOW.
#[repr(C)]
struct AddrInfoW {
    flags: i32,
    family: i32,
    socktype: i32,
    protocol: i32,
    addrlen: usize,
    canonname: *mut u16,
    addr: *const u8,
    next: *mut AddrInfoW,
}

#[link(name = "ws2_32", kind = "raw-dylib")]
extern "system" {
    fn WSAStartup(version: u16, data: *mut u8) -> i32;
    fn WSAGetLastError() -> i32;
    fn WSASocketW(af: i32, ty: i32, proto: i32, info: usize, g: u32, flags: u32) -> usize;
    fn WSAIoctl(
        s: usize,
        code: u32,
        inb: *const u8,
        inlen: u32,
        outb: *mut u8,
        outlen: u32,
        returned: *mut u32,
        o: *mut Overlapped,
        routine: usize,
    ) -> i32;
    fn WSARecv(
        s: usize,
        bufs: *const WsaBuf,
        n: u32,
        got: *mut u32,
        flags: *mut u32,
        o: *mut Overlapped,
        r: usize,
    ) -> i32;
    fn WSASend(s: usize, bufs: *const WsaBuf, n: u32, sent: *mut u32, flags: u32, o: *mut Overlapped, r: usize) -> i32;
    fn WSARecvFrom(
        s: usize,
        bufs: *const WsaBuf,
        n: u32,
        got: *mut u32,
        flags: *mut u32,
        from: *mut u8,
        fromlen: *mut i32,
        o: *mut Overlapped,
        r: usize,
    ) -> i32;
    fn WSASendTo(
        s: usize,
        bufs: *const WsaBuf,
        n: u32,
        sent: *mut u32,
        flags: u32,
        to: *const u8,
        tolen: i32,
        o: *mut Overlapped,
        r: usize,
    ) -> i32;
    fn WSAGetOverlappedResult(s: usize, o: *mut Overlapped, n: *mut u32, wait: i32, flags: *mut u32) -> i32;
    fn bind(s: usize, name: *const u8, len: i32) -> i32;
    fn listen(s: usize, backlog: i32) -> i32;
    fn connect(s: usize, name: *const u8, len: i32) -> i32;
    fn shutdown(s: usize, how: i32) -> i32;
    fn closesocket(s: usize) -> i32;
    fn getsockname(s: usize, name: *mut u8, len: *mut i32) -> i32;
    fn getpeername(s: usize, name: *mut u8, len: *mut i32) -> i32;
    fn setsockopt(s: usize, level: i32, name: i32, v: *const u8, len: i32) -> i32;
    fn GetAddrInfoW(node: *const u16, service: *const u16, hints: *const AddrInfoW, res: *mut *mut AddrInfoW) -> i32;
    fn FreeAddrInfoW(res: *mut AddrInfoW);
}

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn CancelIoEx(h: usize, o: *mut Overlapped) -> i32;
    fn GetLastError() -> u32;
}

/// The last Winsock error.
fn last_error() -> i32 {
    // SAFETY: no arguments.
    unsafe { WSAGetLastError() }
}

/// Ok for a Winsock call that returned 0, else its error.
fn check(r: i32) -> Result<(), i32> {
    if r == SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// Whether WSAStartup ran (Go's sync.Once in syscall's init).
static STARTED: AtomicBool = AtomicBool::new(false);

/// WSAStartup(2.2) once. Two threads racing both call it, which Winsock allows (it counts).
fn startup() {
    if STARTED.load(Ordering::Acquire) {
        return;
    }
    // WSADATA is under 410 bytes on every arch.
    let mut data = [0u64; 64];
    // SAFETY: data is a writable buffer larger than WSADATA.
    let r = unsafe { WSAStartup(0x0202, data.as_mut_ptr().cast()) };
    if r != 0 {
        crate::print::fatal_fmt(format_args!("runtime: WSAStartup failed with {r}"));
    }
    STARTED.store(true, Ordering::Release);
}

/// A socket address in Winsock's layout (sockaddr_in / sockaddr_in6: a 16-bit family, then the
/// port in network order, as on linux; AF_INET6 is 23), with room for any.
#[repr(C, align(8))]
pub struct RawAddr {
    pub bytes: [u8; 128],
    pub len: i32,
}

impl RawAddr {
    /// Room for the OS to write an address into.
    pub fn empty() -> RawAddr {
        RawAddr { bytes: [0; 128], len: 128 }
    }

    /// `a` as a sockaddr.
    pub fn from(a: &SocketAddr) -> RawAddr {
        let mut r = RawAddr::empty();
        let b = &mut r.bytes;
        b[2..4].copy_from_slice(&a.port().to_be_bytes());
        match a {
            SocketAddr::V4(v4) => {
                b[0..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
                b[4..8].copy_from_slice(&v4.ip().octets());
                r.len = 16;
            }
            SocketAddr::V6(v6) => {
                b[0..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
                b[4..8].copy_from_slice(&v6.flowinfo().to_be_bytes());
                b[8..24].copy_from_slice(&v6.ip().octets());
                b[24..28].copy_from_slice(&v6.scope_id().to_le_bytes());
                r.len = 28;
            }
        }
        r
    }

    /// The wildcard address of `a`'s family, port 0 (ConnectEx wants a bound socket).
    pub fn wildcard_like(a: &SocketAddr) -> RawAddr {
        match a {
            SocketAddr::V4(_) => RawAddr::from(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))),
            SocketAddr::V6(_) => RawAddr::from(&SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))),
        }
    }

    /// The address the OS wrote, if of a family gort knows.
    pub fn to_addr(&self) -> Option<SocketAddr> {
        sockaddr_to_addr(&self.bytes[..(self.len.clamp(0, 128) as usize)])
    }
}

/// A sockaddr's bytes as an address (None for another family or too short).
fn sockaddr_to_addr(b: &[u8]) -> Option<SocketAddr> {
    if b.len() < 4 {
        return None;
    }
    let port = u16::from_be_bytes([b[2], b[3]]);
    match u16::from_le_bytes([b[0], b[1]]) as i32 {
        AF_INET if b.len() >= 8 => Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(b[4], b[5], b[6], b[7]), port))),
        AF_INET6 if b.len() >= 28 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[8..24]);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let scope = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
            Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope)))
        }
        _ => None,
    }
}

/// WSASocketW: an overlapped, non-inheritable socket (Go's sysSocket; without
/// WSA_FLAG_NO_HANDLE_INHERIT where the system is too old to know it, as Go).
pub fn socket(family: i32, ty: i32) -> Result<usize, i32> {
    startup();
    // SAFETY: integer arguments.
    let mut s = unsafe { WSASocketW(family, ty, 0, 0, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT) };
    if s == INVALID_SOCKET && last_error() == WSAEINVAL {
        // SAFETY: as above.
        s = unsafe { WSASocketW(family, ty, 0, 0, 0, WSA_FLAG_OVERLAPPED) };
    }
    if s == INVALID_SOCKET {
        Err(last_error())
    } else {
        Ok(s)
    }
}

/// closesocket. The caller owns `s` and has no operation pending on it.
pub fn close(s: usize) {
    // SAFETY: integer argument.
    unsafe { closesocket(s) };
}

/// bind.
pub fn bind_addr(s: usize, a: &RawAddr) -> Result<(), i32> {
    // SAFETY: a holds a sockaddr of a.len bytes.
    check(unsafe { bind(s, a.bytes.as_ptr(), a.len) })
}

/// listen (the backlog is capped by the system: SOMAXCONN asks for its maximum).
pub fn listen_backlog(s: usize, backlog: i32) -> Result<(), i32> {
    // SAFETY: integer arguments.
    check(unsafe { listen(s, backlog) })
}

/// connect, for a datagram socket (it does not block: it sets the default peer).
pub fn connect_addr(s: usize, a: &RawAddr) -> Result<(), i32> {
    // SAFETY: a holds a sockaddr of a.len bytes.
    check(unsafe { connect(s, a.bytes.as_ptr(), a.len) })
}

/// shutdown: 0 receive, 1 send, 2 both (SD_RECEIVE, SD_SEND, SD_BOTH).
pub fn shutdown_how(s: usize, how: i32) -> Result<(), i32> {
    // SAFETY: integer arguments.
    check(unsafe { shutdown(s, how) })
}

/// getsockname.
pub fn sockname(s: usize, a: &mut RawAddr) -> Result<(), i32> {
    a.len = 128;
    // SAFETY: a.bytes is writable for a.len bytes.
    check(unsafe { getsockname(s, a.bytes.as_mut_ptr(), &mut a.len) })
}

/// getpeername.
pub fn peername(s: usize, a: &mut RawAddr) -> Result<(), i32> {
    a.len = 128;
    // SAFETY: a.bytes is writable for a.len bytes.
    check(unsafe { getpeername(s, a.bytes.as_mut_ptr(), &mut a.len) })
}

/// setsockopt with an int (BOOL or DWORD) value.
pub fn setsockopt_int(s: usize, level: i32, name: i32, v: i32) -> Result<(), i32> {
    // SAFETY: v is a valid int for the call's duration.
    check(unsafe { setsockopt(s, level, name, (&v as *const i32).cast(), 4) })
}

/// SO_UPDATE_ACCEPT_CONTEXT on a socket AcceptEx filled from `listener`: after it, getpeername,
/// shutdown etc. work on it.
pub fn update_accept_context(s: usize, listener: usize) -> Result<(), i32> {
    // SAFETY: the value is the listening SOCKET, passed by address.
    check(unsafe {
        setsockopt(
            s,
            SOL_SOCKET,
            SO_UPDATE_ACCEPT_CONTEXT,
            (&listener as *const usize).cast(),
            core::mem::size_of::<usize>() as i32,
        )
    })
}

/// SO_UPDATE_CONNECT_CONTEXT on a socket ConnectEx connected.
pub fn update_connect_context(s: usize) -> Result<(), i32> {
    // SAFETY: no value.
    check(unsafe { setsockopt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, core::ptr::null(), 0) })
}

/// Turns off a UDP socket's WSAECONNRESET after an ICMP port unreachable (Go does the same,
/// golang.org/issue/5834): a datagram socket's reads then behave as on unix.
pub fn udp_no_connreset(s: usize) -> Result<(), i32> {
    let flag = 0u32;
    let mut ret = 0u32;
    // SAFETY: flag is a readable DWORD; ret an out-parameter; no overlapped.
    check(unsafe {
        WSAIoctl(
            s,
            SIO_UDP_CONNRESET,
            (&flag as *const u32).cast(),
            4,
            core::ptr::null_mut(),
            0,
            &mut ret,
            core::ptr::null_mut(),
            0,
        )
    })
}

/// An extension function's address, asked of `s`'s provider once and cached in `cache`.
fn extension(s: usize, id: &Guid, cache: &AtomicUsize) -> Result<usize, i32> {
    let f = cache.load(Ordering::Acquire);
    if f != 0 {
        return Ok(f);
    }
    let mut f = 0usize;
    let mut ret = 0u32;
    // SAFETY: in: the GUID; out: a function pointer's worth of bytes.
    check(unsafe {
        WSAIoctl(
            s,
            SIO_GET_EXTENSION_FUNCTION_POINTER,
            (id as *const Guid).cast(),
            core::mem::size_of::<Guid>() as u32,
            (&mut f as *mut usize).cast(),
            core::mem::size_of::<usize>() as u32,
            &mut ret,
            core::ptr::null_mut(),
            0,
        )
    })?;
    cache.store(f, Ordering::Release);
    Ok(f)
}

static ACCEPT_EX: AtomicUsize = AtomicUsize::new(0);
static CONNECT_EX: AtomicUsize = AtomicUsize::new(0);

/// The result of starting an overlapped call: Ok if started (pending) or done at once (a
/// completion packet comes in both cases), else the error.
fn started(ok: bool) -> Result<(), i32> {
    if ok {
        return Ok(());
    }
    match last_error() {
        WSA_IO_PENDING => Ok(()),
        e => Err(e),
    }
}

/// Bytes of AcceptEx's output buffer per address: the largest sockaddr + 16, as it requires.
pub const ACCEPT_ADDR_LEN: usize = 128 + 16;

/// Starts AcceptEx: `accept` (a fresh socket of the listener's family) takes the next
/// connection of `listener`.
///
/// # Safety
/// `o` and `out` (2 × ACCEPT_ADDR_LEN bytes) and `received` must stay valid and unmoved until
/// the operation's completion has been dequeued.
pub unsafe fn accept_ex(
    listener: usize,
    accept: usize,
    out: *mut u8,
    received: *mut u32,
    o: *mut Overlapped,
) -> Result<(), i32> {
    let f = extension(listener, &WSAID_ACCEPTEX, &ACCEPT_EX)?;
    // SAFETY: f is AcceptEx (asked of the provider by its GUID); the buffers per the contract.
    let f: AcceptExFn = unsafe { core::mem::transmute::<usize, AcceptExFn>(f) };
    let l = ACCEPT_ADDR_LEN as u32;
    // SAFETY: per the contract.
    started(unsafe { f(listener, accept, out, 0, l, l, received, o) } != 0)
}

/// Starts ConnectEx to `to` (the socket must be bound).
///
/// # Safety
/// `o` must stay valid and unmoved until the operation's completion has been dequeued; `to`
/// for the duration of the call.
pub unsafe fn connect_ex(s: usize, to: &RawAddr, o: *mut Overlapped) -> Result<(), i32> {
    let f = extension(s, &WSAID_CONNECTEX, &CONNECT_EX)?;
    // SAFETY: f is ConnectEx (asked of the provider by its GUID).
    let f: ConnectExFn = unsafe { core::mem::transmute::<usize, ConnectExFn>(f) };
    // SAFETY: per the contract; no data to send.
    started(unsafe { f(s, to.bytes.as_ptr(), to.len, core::ptr::null(), 0, core::ptr::null_mut(), o) } != 0)
}

/// Starts WSARecv into `buf`.
///
/// # Safety
/// `buf`'s memory, `flags` and `o` must stay valid and unmoved until the completion has been
/// dequeued.
pub unsafe fn recv(s: usize, buf: *const WsaBuf, flags: *mut u32, o: *mut Overlapped) -> Result<(), i32> {
    // SAFETY: per the contract.
    started(unsafe { WSARecv(s, buf, 1, core::ptr::null_mut(), flags, o, 0) } == 0)
}

/// Starts WSASend of `buf`.
///
/// # Safety
/// As `recv`.
pub unsafe fn send(s: usize, buf: *const WsaBuf, o: *mut Overlapped) -> Result<(), i32> {
    // SAFETY: per the contract.
    started(unsafe { WSASend(s, buf, 1, core::ptr::null_mut(), 0, o, 0) } == 0)
}

/// Starts WSARecvFrom: one datagram into `buf`, its sender into `from`.
///
/// # Safety
/// As `recv`, and `from` too.
pub unsafe fn recvfrom(
    s: usize,
    buf: *const WsaBuf,
    flags: *mut u32,
    from: *mut RawAddr,
    o: *mut Overlapped,
) -> Result<(), i32> {
    // SAFETY: per the contract.
    started(
        unsafe {
            (*from).len = 128;
            WSARecvFrom(s, buf, 1, core::ptr::null_mut(), flags, (*from).bytes.as_mut_ptr(), &raw mut (*from).len, o, 0)
        } == 0,
    )
}

/// Starts WSASendTo: one datagram to `to`.
///
/// # Safety
/// As `recv`; `to` for the duration of the call.
pub unsafe fn sendto(s: usize, buf: *const WsaBuf, to: &RawAddr, o: *mut Overlapped) -> Result<(), i32> {
    // SAFETY: per the contract.
    started(unsafe { WSASendTo(s, buf, 1, core::ptr::null_mut(), 0, to.bytes.as_ptr(), to.len, o, 0) } == 0)
}

/// The outcome of a completed operation: (error or 0, bytes transferred) (Go's netpoll asks
/// WSAGetOverlappedResult the same way, for Winsock's error codes).
///
/// # Safety
/// `o` is the OVERLAPPED of an operation on `s` whose completion was just dequeued.
pub unsafe fn overlapped_result(s: usize, o: *mut Overlapped) -> (u32, u32) {
    let (mut n, mut flags) = (0u32, 0u32);
    // SAFETY: per the contract; no wait.
    if unsafe { WSAGetOverlappedResult(s, o, &mut n, 0, &mut flags) } == 0 {
        (last_error() as u32, n)
    } else {
        (0, n)
    }
}

/// CancelIoEx on one operation: Ok if a cancellation was requested or the operation had already
/// completed (ERROR_NOT_FOUND); either way its completion packet comes.
///
/// # Safety
/// `o` is the OVERLAPPED of an operation started on `s`.
pub unsafe fn cancel(s: usize, o: *mut Overlapped) -> Result<(), i32> {
    // SAFETY: per the contract.
    if unsafe { CancelIoEx(s, o) } != 0 {
        return Ok(());
    }
    // SAFETY: no arguments.
    match unsafe { GetLastError() } as i32 {
        ERROR_NOT_FOUND => Ok(()),
        e => Err(e),
    }
}

/// The system resolver (GetAddrInfoW): the addresses of `host`, in the order the system gives
/// them, each once. A blocking call, run through entersyscall (`syscall::blocking`) as Go's
/// cgo-style lookups on windows take a thread. `gort::net::lookup_host`'s default resolver.
pub(crate) fn getaddrinfo(host: &str) -> Result<Vec<IpAddr>, Error> {
    startup();
    let hints = AddrInfoW {
        flags: 0,
        family: 0,
        socktype: SOCK_STREAM,
        protocol: 0,
        addrlen: 0,
        canonname: core::ptr::null_mut(),
        addr: core::ptr::null(),
        next: core::ptr::null_mut(),
    };
    let mut res: *mut AddrInfoW = core::ptr::null_mut();
    let r = crate::sys::path::with_wide(host.as_bytes(), |w| {
        // SAFETY: w is a NUL-terminated UTF-16 string; hints valid; res an out-parameter.
        crate::syscall::blocking(|| unsafe { GetAddrInfoW(w, core::ptr::null(), &hints, &mut res) })
    })?;
    if r != 0 {
        return Err(Error::from_raw_os_error(r));
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p is a node of the list GetAddrInfoW returned, not freed yet; ai_addr holds
        // ai_addrlen bytes.
        let ai = unsafe { &*p };
        if !ai.addr.is_null() {
            // SAFETY: as above.
            let b = unsafe { core::slice::from_raw_parts(ai.addr, ai.addrlen.min(128)) };
            if let Some(a) = sockaddr_to_addr(b) {
                if !out.contains(&a.ip()) {
                    out.push(a.ip());
                }
            }
        }
        p = ai.next;
    }
    // SAFETY: res is the list GetAddrInfoW returned, freed once.
    unsafe { FreeAddrInfoW(res) };
    Ok(out)
}
