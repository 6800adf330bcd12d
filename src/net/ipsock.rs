//! Addresses given as values or as text (Go's net/ipsock.go: SplitHostPort and
//! internetAddrList, which turns "host:port" into the addresses to try), in the shape of std's
//! `ToSocketAddrs` trait so that code written against std reads the same.
//!
//! ```
//! extern crate alloc;
//! use alloc::vec::Vec;
//! use gort::net::{SocketAddr, ToSocketAddrs};
//! let a: Vec<SocketAddr> = "[::1]:80".to_socket_addrs().unwrap().collect();
//! assert_eq!(a, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
//! let b: Vec<SocketAddr> = ("127.0.0.1", 8080).to_socket_addrs().unwrap().collect();
//! assert_eq!(b, ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
//! assert!("localhost:http".to_socket_addrs().is_err()); // service names are not looked up
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::lookup::lookup_host;
use crate::io::{Error, ErrorKind};

/// Values that are, or name, socket addresses (std's `ToSocketAddrs`, for gort's sockets):
/// `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`, `(IpAddr, u16)`, `(Ipv4Addr, u16)`,
/// `(Ipv6Addr, u16)`, `(&str, u16)`, `(String, u16)`, `"host:port"` as `&str` or `String`
/// (`"[::1]:80"` for IPv6; the host may be a name), slices of `SocketAddr`, and references to
/// any of these. A name is resolved with [`lookup_host`](super::lookup_host), which may park
/// the goroutine on DNS.
///
/// `TcpStream::connect` tries each address in turn (Go's dialSerial) and returns the first
/// connection or the first error; `TcpListener::bind`, `UdpSocket::bind` and
/// `UdpSocket::connect` take the first address that works; `UdpSocket::send_to` sends to the
/// first address.
pub trait ToSocketAddrs {
    /// The addresses, in the order to try them.
    type Iter: Iterator<Item = SocketAddr>;

    /// Resolves to addresses. Errors: `InvalidInput` for text that is no "host:port", and
    /// [`lookup_host`](super::lookup_host)'s errors for a name.
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error>;
}

impl ToSocketAddrs for SocketAddr {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        SocketAddr::new(self.0.into(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        SocketAddr::new(self.0.into(), self.1).to_socket_addrs()
    }
}

/// A host (numeric or a name) and a port.
fn resolve(host: &str, port: u16) -> Result<alloc::vec::IntoIter<SocketAddr>, Error> {
    let ips = lookup_host(host)?;
    Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect::<Vec<_>>().into_iter())
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        resolve(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        resolve(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        // A numeric address needs no lookup ("[fe80::1%2]:80" keeps its scope id).
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(alloc::vec![a].into_iter());
        }
        let (host, port) = split_host_port(self)?;
        let port = port.parse::<u16>().map_err(|_| Error::new(ErrorKind::InvalidInput, "invalid port value"))?;
        resolve(host, port)
    }
}

impl ToSocketAddrs for String {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = core::iter::Copied<core::slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> Result<Self::Iter, Error> {
        Ok(self.iter().copied())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> Result<T::Iter, Error> {
        (**self).to_socket_addrs()
    }
}

/// Go's SplitHostPort: "host:port", "[host]:port" (IPv6, or any host in brackets) or ":port"
/// into host and port; the port is not checked here.
pub(super) fn split_host_port(hostport: &str) -> Result<(&str, &str), Error> {
    const MISSING_PORT: Error = Error::new(ErrorKind::InvalidInput, "missing port in address");
    const TOO_MANY_COLONS: Error = Error::new(ErrorKind::InvalidInput, "too many colons in address");
    let i = hostport.rfind(':').ok_or(MISSING_PORT)?;
    let (host, j, k);
    if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or(Error::new(ErrorKind::InvalidInput, "missing ']' in address"))?;
        if end + 1 == hostport.len() {
            return Err(MISSING_PORT);
        } else if end + 1 != i {
            return Err(if hostport.as_bytes()[end + 1] == b':' { TOO_MANY_COLONS } else { MISSING_PORT });
        }
        host = &hostport[1..end];
        (j, k) = (1, end + 1);
    } else {
        host = &hostport[..i];
        if host.contains(':') {
            return Err(TOO_MANY_COLONS);
        }
        (j, k) = (0, 0);
    }
    if hostport[j..].contains('[') {
        return Err(Error::new(ErrorKind::InvalidInput, "unexpected '[' in address"));
    }
    if hostport[k..].contains(']') {
        return Err(Error::new(ErrorKind::InvalidInput, "unexpected ']' in address"));
    }
    Ok((host, &hostport[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's splitJoinTests and splitFailureTests (ipsock_test.go / net_test.go).
    #[test]
    fn split_host_port_like_go() {
        for (hp, h, p) in [
            ("www.google.com:80", "www.google.com", "80"),
            ("127.0.0.1:1234", "127.0.0.1", "1234"),
            ("[::1]:80", "::1", "80"),
            ("[fe80::1%lo0]:80", "fe80::1%lo0", "80"),
            ("[localhost%lo0]:0", "localhost%lo0", "0"),
            (":80", "", "80"),
            ("[]:80", "", "80"),
            ("[::1]:", "::1", ""),
            ("localhost:", "localhost", ""),
            (":", "", ""),
            ("[www.google.com]:80", "www.google.com", "80"),
        ] {
            assert_eq!(split_host_port(hp), Ok((h, p)), "{hp}");
        }
        for (hp, why) in [
            ("www.google.com", "missing port in address"),
            ("127.0.0.1", "missing port in address"),
            ("[::1]", "missing port in address"),
            ("[fe80::1%lo0]", "missing port in address"),
            ("[localhost%lo0]", "missing port in address"),
            ("localhost%lo0", "missing port in address"),
            ("::1", "too many colons in address"),
            ("fe80::1%lo0", "too many colons in address"),
            ("fe80::1%lo0:80", "too many colons in address"),
            ("[foo:bar]", "missing port in address"),
            ("[foo:bar]baz", "missing port in address"),
            ("[foo]bar:baz", "missing port in address"),
            ("[foo]:[bar]:baz", "too many colons in address"),
            ("[foo]:[bar]baz", "unexpected '[' in address"),
            ("foo[bar]:baz", "unexpected '[' in address"),
            ("foo]bar:baz", "unexpected ']' in address"),
        ] {
            let e = split_host_port(hp).unwrap_err();
            assert_eq!((e.kind(), alloc::format!("{e}")), (ErrorKind::InvalidInput, why.into()), "{hp}");
        }
    }

    #[test]
    fn numeric_forms_need_no_lookup() {
        let one = |a: &dyn Fn() -> Result<Vec<SocketAddr>, Error>| a().unwrap();
        let sa: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(one(&|| Ok(sa.to_socket_addrs()?.collect())), [sa]);
        assert_eq!(one(&|| Ok("192.0.2.1:80".to_socket_addrs()?.collect())), [sa]);
        assert_eq!(one(&|| Ok(String::from("[2001:db8::1]:443").to_socket_addrs()?.collect())), [v6]);
        assert_eq!(one(&|| Ok((sa.ip(), 80).to_socket_addrs()?.collect())), [sa]);
        assert_eq!(one(&|| Ok((Ipv4Addr::new(192, 0, 2, 1), 80).to_socket_addrs()?.collect())), [sa]);
        assert_eq!(one(&|| Ok(("2001:db8::1", 443).to_socket_addrs()?.collect())), [v6]);
        assert_eq!(one(&|| Ok((&[sa, v6][..]).to_socket_addrs()?.collect())), [sa, v6]);
        let fe: SocketAddr = "[fe80::1%3]:80".parse().unwrap();
        assert_eq!(one(&|| Ok("[fe80::1%3]:80".to_socket_addrs()?.collect())), [fe]);
        for bad in ["192.0.2.1", "192.0.2.1:99999", "[::1]:x", "::1:80", "a:b:c"] {
            assert_eq!(bad.to_socket_addrs().unwrap_err().kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
