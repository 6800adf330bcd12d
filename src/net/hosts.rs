//! The hosts file (Go's net/hosts.go): `/etc/hosts` maps names to addresses before DNS is asked.
//!
//! Each line is an address followed by names (canonical name, then aliases); `#` starts a
//! comment; fields are separated by spaces, tabs or `\r`. Names match without regard to ASCII
//! case, and a name with a dot matches with or without a trailing dot (Go's absDomainName: the
//! key of "foo.example" is "foo.example."; dotless names like "localhost" stay as they are). An
//! address that does not parse (or an IPv6 address with a zone, `fe80::1%eth0`: `IpAddr` cannot
//! carry the zone) skips its line. An IPv4-mapped IPv6 address is its IPv4 address, as Go's
//! `IP.String()` makes it.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

/// A parsed hosts file: (lower-case rooted key, address) in file order.
#[derive(Debug, Default)]
pub(crate) struct Hosts {
    by_name: Vec<(String, IpAddr)>,
}

/// Go's getFields: split on spaces, tabs, `\r` and `\n`, dropping empty fields.
pub(crate) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')).filter(|f| !f.is_empty())
}

/// Go's absDomainName: a name with a dot gets a trailing dot; a dotless one stays.
fn abs_domain_name(name: &str) -> String {
    let mut s = String::from(name);
    if name.contains('.') && !name.ends_with('.') {
        s.push('.');
    }
    s
}

/// An address as the hosts file spells it (Go's parseLiteralIP): IPv4 or IPv6, no zone.
pub(crate) fn parse_literal_ip(s: &[u8]) -> Option<IpAddr> {
    let ip: IpAddr = core::str::from_utf8(s).ok()?.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

impl Hosts {
    /// Parses the contents of a hosts file (Go's readHosts).
    pub(crate) fn parse(text: &[u8]) -> Hosts {
        let mut h = Hosts::default();
        for line in text.split(|&c| c == b'\n') {
            let line = match line.iter().position(|&c| c == b'#') {
                Some(i) => &line[..i],
                None => line,
            };
            let mut f = fields(line);
            let (Some(addr), Some(first)) = (f.next(), f.next()) else { continue };
            let Some(ip) = parse_literal_ip(addr) else { continue };
            for name in core::iter::once(first).chain(f) {
                // A name that is not UTF-8 cannot be asked for (lookups take &str).
                let Ok(name) = core::str::from_utf8(name) else { continue };
                h.by_name.push((abs_domain_name(&name.to_ascii_lowercase()), ip));
            }
        }
        h
    }

    /// The addresses of `host` in file order (Go's lookupStaticHost), empty if none.
    pub(crate) fn lookup(&self, host: &str) -> Vec<IpAddr> {
        let key = abs_domain_name(&host.to_ascii_lowercase());
        self.by_name.iter().filter(|(k, _)| *k == key).map(|&(_, ip)| ip).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// Go's src/net/testdata/hosts (Go 1.19), byte for byte; hosts_test.go's expectations below.
    const GO_HOSTS: &[u8] = b"255.255.255.255\tbroadcasthost\n127.0.0.2\todin\n127.0.0.3\todin  # inline comment \n::2             odin\n127.1.1.1\tthor\n# aliases\n127.1.1.2\tullr ullrhost\nfe80::1%lo0\tlocalhost\n# Bogus entries that must be ignored.\n123.123.123\tloki\n321.321.321.321\n";

    #[test]
    fn go_testdata_hosts() {
        let h = Hosts::parse(GO_HOSTS);
        assert_eq!(h.lookup("odin"), ips(&["127.0.0.2", "127.0.0.3", "::2"]));
        assert_eq!(h.lookup("thor"), ips(&["127.1.1.1"]));
        assert_eq!(h.lookup("ullrhost"), ips(&["127.1.1.2"]));
        assert_eq!(h.lookup("ullr"), ips(&["127.1.1.2"]));
        assert_eq!(h.lookup("broadcasthost"), ips(&["255.255.255.255"]));
        assert_eq!(h.lookup("loki"), ips(&[]));
        // Zones are skipped (Go keeps "fe80::1%lo0").
        assert_eq!(h.lookup("localhost"), ips(&[]));
    }

    #[test]
    fn case_aliases_and_dots() {
        let h = Hosts::parse(
            b"127.0.0.1 localhost\r\n\
              ::1 localhost ip6-localhost\n\
              10.0.0.1 Foo.Example.COM foo bar.example.\n\
              ::ffff:10.0.0.2 mapped\n\
              #10.0.0.3 commented\n\
              10.0.0.4\n\
              \t 2001:db8::1\tv6.example   # trailing\n",
        );
        assert_eq!(h.lookup("localhost"), ips(&["127.0.0.1", "::1"]));
        assert_eq!(h.lookup("LOCALHOST"), ips(&["127.0.0.1", "::1"]));
        assert_eq!(h.lookup("ip6-localhost"), ips(&["::1"]));
        for n in ["foo.example.com", "FOO.EXAMPLE.COM.", "foo.Example.com", "foo", "bar.example", "bar.example."] {
            assert_eq!(h.lookup(n), ips(&["10.0.0.1"]), "{n}");
        }
        assert_eq!(h.lookup("foo."), ips(&[]), "a dotless name is not rooted");
        assert_eq!(h.lookup("mapped"), vec![IpAddr::V4("10.0.0.2".parse().unwrap())]);
        assert_eq!(h.lookup("commented"), ips(&[]));
        assert_eq!(h.lookup("v6.example"), ips(&["2001:db8::1"]));
        assert_eq!(h.lookup("trailing"), ips(&[]));
        assert_eq!(h.lookup(""), ips(&[]));
        assert!(Hosts::parse(b"").lookup("localhost").is_empty());
        assert!(Hosts::parse(b"\xff\xfe 1.2.3.4 \xff\n1.2.3.4 \xff ok").lookup("ok") == ips(&["1.2.3.4"]));
    }
}
