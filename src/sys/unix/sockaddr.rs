//! `core::net::SocketAddr` ⇄ the kernel's sockaddr_in / sockaddr_in6, and a unix-socket path ⇄
//! sockaddr_un (Go's net/sockaddr_posix.go and syscall's anyToSockaddr, SockaddrUnix), for every
//! unix: the family numbers and sun_path's size come from the OS's `socket` module, and BSD
//! sockaddrs (`SOCKADDR_LEN_BYTE`) start with a length byte and an 8-bit family where linux has
//! a 16-bit family.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::io::{Error, ErrorKind};
use crate::sys::socket::{AF_INET, AF_INET6, AF_UNIX, SOCKADDR_LEN_BYTE, SUN_PATH_MAX};

/// Room for any sockaddr gort uses (sockaddr_in6 is 28 bytes, sockaddr_un 106 on darwin and 110
/// on linux), aligned as the kernel's.
#[repr(C, align(4))]
pub struct RawAddr {
    pub bytes: [u8; 112],
    /// In: the sockaddr's length; out (accept, recvfrom, getsockname): what the kernel wrote.
    pub len: u32,
}

impl RawAddr {
    /// What `len` says before a call that writes an address.
    pub const CAPACITY: u32 = 112;

    /// Zeroed, with room for any family (for accept, getsockname, recvfrom).
    pub fn empty() -> RawAddr {
        RawAddr { bytes: [0; 112], len: Self::CAPACITY }
    }

    /// The bytes and length pointers for a call that writes an address.
    pub fn out_ptrs(&mut self) -> (usize, usize) {
        (self.bytes.as_mut_ptr() as usize, &mut self.len as *mut u32 as usize)
    }

    /// Writes the family (and the length byte on BSD) at the start.
    fn set_family(&mut self, family: usize, len: u32) {
        if SOCKADDR_LEN_BYTE {
            self.bytes[0] = len as u8;
            self.bytes[1] = family as u8;
        } else {
            self.bytes[..2].copy_from_slice(&(family as u16).to_ne_bytes());
        }
        self.len = len;
    }

    /// The family the kernel wrote.
    pub fn family(&self) -> usize {
        if SOCKADDR_LEN_BYTE {
            self.bytes[1] as usize
        } else {
            u16::from_ne_bytes([self.bytes[0], self.bytes[1]]) as usize
        }
    }

    /// The sockaddr for `a`.
    pub fn from(a: &SocketAddr) -> RawAddr {
        let mut r = RawAddr::empty();
        match a {
            SocketAddr::V4(v4) => {
                r.set_family(AF_INET, 16);
                r.bytes[2..4].copy_from_slice(&v4.port().to_be_bytes());
                r.bytes[4..8].copy_from_slice(&v4.ip().octets());
            }
            SocketAddr::V6(v6) => {
                r.set_family(AF_INET6, 28);
                r.bytes[2..4].copy_from_slice(&v6.port().to_be_bytes());
                r.bytes[4..8].copy_from_slice(&v6.flowinfo().to_be_bytes());
                r.bytes[8..24].copy_from_slice(&v6.ip().octets());
                r.bytes[24..28].copy_from_slice(&v6.scope_id().to_ne_bytes());
            }
        }
        r
    }

    /// The sockaddr_un for a unix-socket `path` (Go's SockaddrUnix.sockaddr): the path and its
    /// NUL in sun_path. InvalidInput for an empty path, a NUL inside it, or a path longer than
    /// the OS's sun_path holds with its NUL (`SUN_PATH_MAX`: 107 bytes on linux, 103 on darwin).
    pub fn from_unix_path(path: &[u8]) -> Result<RawAddr, Error> {
        if path.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "empty unix socket path"));
        }
        if path.len() > SUN_PATH_MAX {
            return Err(Error::new(ErrorKind::InvalidInput, "unix socket path too long"));
        }
        if path.contains(&0) {
            return Err(Error::new(ErrorKind::InvalidInput, "unix socket path contains a NUL byte"));
        }
        let mut r = RawAddr::empty();
        // The family (and length byte), the path, its NUL (already zero).
        r.set_family(AF_UNIX, (2 + path.len() + 1) as u32);
        r.bytes[2..2 + path.len()].copy_from_slice(path);
        Ok(r)
    }

    /// The path of a unix-socket address the kernel wrote (empty for an unnamed socket: a
    /// connecting end, or the peer an accept reports), or None for another family.
    pub fn unix_path(&self) -> Option<&[u8]> {
        if self.family() != AF_UNIX {
            return None;
        }
        let end = (self.len as usize).clamp(2, self.bytes.len());
        let p = &self.bytes[2..end];
        Some(&p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())])
    }

    /// The address the kernel wrote, if its family is one gort knows.
    pub fn to_addr(&self) -> Option<SocketAddr> {
        let fam = self.family();
        let port = u16::from_be_bytes([self.bytes[2], self.bytes[3]]);
        match fam {
            AF_INET if self.len >= 16 => {
                let ip = Ipv4Addr::new(self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]);
                Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
            }
            AF_INET6 if self.len >= 28 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&self.bytes[8..24]);
                let flow = u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]]);
                let scope = u32::from_ne_bytes([self.bytes[24], self.bytes[25], self.bytes[26], self.bytes[27]]);
                Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(o), port, flow, scope)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_v4_and_v6() {
        for s in ["127.0.0.1:80", "0.0.0.0:0", "[::1]:65535", "[fe80::1%3]:8080"] {
            let a: SocketAddr = s.parse().unwrap();
            let r = RawAddr::from(&a);
            assert_eq!(r.to_addr(), Some(a), "{s}");
        }
        // Port in network order.
        let r = RawAddr::from(&"1.2.3.4:258".parse().unwrap());
        assert_eq!(&r.bytes[2..8], &[1, 2, 1, 2, 3, 4]);
    }

    #[test]
    fn unix_paths() {
        let r = RawAddr::from_unix_path(b"/tmp/x.sock").unwrap();
        assert_eq!(r.len, 2 + 11 + 1);
        assert_eq!(r.family(), AF_UNIX);
        assert_eq!(r.unix_path(), Some(&b"/tmp/x.sock"[..]));
        assert_eq!(r.to_addr(), None);
        // The longest path fits with its NUL; one more byte does not.
        let long = [b'a'; SUN_PATH_MAX + 1];
        let r = RawAddr::from_unix_path(&long[..SUN_PATH_MAX]).unwrap();
        assert_eq!(r.unix_path().unwrap().len(), SUN_PATH_MAX);
        assert_eq!(r.bytes[2 + SUN_PATH_MAX], 0);
        for bad in [&long[..], &b""[..], &b"a\0b"[..]] {
            assert_eq!(RawAddr::from_unix_path(bad).err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        }
        // An unnamed socket: the family alone.
        let mut r = RawAddr::empty();
        r.set_family(AF_UNIX, 2);
        assert_eq!(r.unix_path(), Some(&b""[..]));
        // An internet address is not a path.
        assert_eq!(RawAddr::from(&"1.2.3.4:5".parse().unwrap()).unix_path(), None);
    }
}
