//! `core::net::SocketAddr` ⇄ the kernel's sockaddr_in / sockaddr_in6 (Go's net/sockaddr_posix.go
//! and syscall's anyToSockaddr).

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// AF_INET.
pub(super) const AF_INET: usize = 2;
/// AF_INET6.
pub(super) const AF_INET6: usize = 10;

/// Room for either sockaddr (sockaddr_in6 is 28 bytes), aligned as the kernel's.
#[repr(C, align(4))]
pub(super) struct RawAddr {
    pub(super) bytes: [u8; 28],
    pub(super) len: u32,
}

impl RawAddr {
    /// Zeroed, with room for either family (for accept, getsockname, recvfrom).
    pub(super) fn empty() -> RawAddr {
        RawAddr { bytes: [0; 28], len: 28 }
    }

    /// The sockaddr for `a`.
    pub(super) fn from(a: &SocketAddr) -> RawAddr {
        let mut r = RawAddr::empty();
        match a {
            SocketAddr::V4(v4) => {
                r.bytes[..2].copy_from_slice(&(AF_INET as u16).to_ne_bytes());
                r.bytes[2..4].copy_from_slice(&v4.port().to_be_bytes());
                r.bytes[4..8].copy_from_slice(&v4.ip().octets());
                r.len = 16;
            }
            SocketAddr::V6(v6) => {
                r.bytes[..2].copy_from_slice(&(AF_INET6 as u16).to_ne_bytes());
                r.bytes[2..4].copy_from_slice(&v6.port().to_be_bytes());
                r.bytes[4..8].copy_from_slice(&v6.flowinfo().to_be_bytes());
                r.bytes[8..24].copy_from_slice(&v6.ip().octets());
                r.bytes[24..28].copy_from_slice(&v6.scope_id().to_ne_bytes());
                r.len = 28;
            }
        }
        r
    }

    /// The address the kernel wrote, if its family is one gort knows.
    pub(super) fn to_addr(&self) -> Option<SocketAddr> {
        let fam = u16::from_ne_bytes([self.bytes[0], self.bytes[1]]) as usize;
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
}
