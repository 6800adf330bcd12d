//! The resolver's configuration, read from `/etc/resolv.conf` (Go's net/dnsconfig.go and
//! dnsconfig_unix.go, see resolv.conf(5)).
//!
//! Read as Go reads it: `nameserver` (an IPv4 or IPv6 address, port 53, at most 3),
//! `search` (a list of suffixes) and `domain` (one suffix; the last of the two wins), and
//! `options` `ndots:N` (clamped to 0..=15), `timeout:N` (seconds, at least 1), `attempts:N` (at
//! least 1), `rotate`, `single-request`/`single-request-reopen` (ask A and AAAA one after the
//! other) and `use-vc`/`usevc`/`tcp` (TCP only). Numbers are Go's `dtoi`: leading digits, an
//! invalid number counts as 0. Lines starting with `#` or `;` are comments; anything else is
//! ignored. A missing file, or one that names no server, gives Go's defaults: servers
//! 127.0.0.1:53 and [::1]:53, ndots 1, timeout 5 s, attempts 2; no search list gives the domain
//! of the host name (Go's dnsDefaultSearch). An IPv6 server with a zone is kept only if the zone
//! is a number (a scope id); interface names are not looked up.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use core::time::Duration;

use super::hosts::fields;

/// Go's dnsConfig.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DnsConfig {
    /// Servers to ask, in order.
    pub(crate) servers: Vec<SocketAddr>,
    /// Rooted suffixes to append to a name with fewer than `ndots` dots ("example.com.").
    pub(crate) search: Vec<String>,
    /// A name with at least this many dots is tried as it is first.
    pub(crate) ndots: u32,
    /// Wait for one answer from one server.
    pub(crate) timeout: Duration,
    /// Rounds over the server list.
    pub(crate) attempts: u32,
    /// Start each lookup at the next server (round robin).
    pub(crate) rotate: bool,
    /// A and AAAA one after the other instead of at the same time.
    pub(crate) single_request: bool,
    /// TCP only.
    pub(crate) use_tcp: bool,
}

/// Go's defaultNS: 127.0.0.1:53 and [::1]:53.
pub(crate) fn default_ns() -> Vec<SocketAddr> {
    alloc::vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 53), SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 53),]
}

/// Go's dtoi: the decimal number at the start of `s` (0 if none), capped at 0xFFFFFF.
fn dtoi(s: &[u8]) -> u32 {
    const BIG: u32 = 0xFF_FFFF;
    let mut n = 0u32;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        n = n * 10 + (c - b'0') as u32;
        if n >= BIG {
            return BIG;
        }
    }
    n
}

/// Go's ensureRooted.
fn ensure_rooted(s: &[u8]) -> Option<String> {
    let mut s = String::from(core::str::from_utf8(s).ok()?);
    if !s.ends_with('.') {
        s.push('.');
    }
    Some(s)
}

/// A `nameserver` address: IPv4, or IPv6 with an optional numeric zone.
fn server_addr(s: &[u8]) -> Option<SocketAddr> {
    let s = core::str::from_utf8(s).ok()?;
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Some(SocketAddr::new(v4.into(), 53));
    }
    let (ip, zone) = match s.rsplit_once('%') {
        Some((ip, zone)) => (ip, Some(zone)),
        None => (s, None),
    };
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope = match zone {
        Some(z) => z.parse().ok()?,
        None => 0,
    };
    Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
}

/// The search list from the host name (Go's dnsDefaultSearch): its domain, if it has one.
pub(crate) fn default_search(hostname: &[u8]) -> Vec<String> {
    let hn = hostname.strip_suffix(b"\n").unwrap_or(hostname);
    match hn.iter().position(|&c| c == b'.') {
        Some(i) if i < hn.len() - 1 => ensure_rooted(&hn[i + 1..]).into_iter().collect(),
        _ => Vec::new(),
    }
}

impl DnsConfig {
    /// Go's dnsReadConfig on the file's contents (`None`: no file). `hostname` gives the
    /// default search list.
    pub(crate) fn parse(text: Option<&[u8]>, hostname: &[u8]) -> DnsConfig {
        let mut conf = DnsConfig {
            servers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            rotate: false,
            single_request: false,
            use_tcp: false,
        };
        for line in text.unwrap_or_default().split(|&c| c == b'\n') {
            if matches!(line.first(), Some(b';' | b'#')) {
                continue;
            }
            let mut f = fields(line);
            let Some(key) = f.next() else { continue };
            match key {
                b"nameserver" => {
                    if let Some(a) = f.next().and_then(server_addr) {
                        if conf.servers.len() < 3 {
                            conf.servers.push(a);
                        }
                    }
                }
                b"domain" => {
                    if let Some(d) = f.next() {
                        conf.search = ensure_rooted(d).into_iter().collect();
                    }
                }
                b"search" => conf.search = f.filter_map(ensure_rooted).collect(),
                b"options" => {
                    for o in f {
                        if let Some(n) = o.strip_prefix(b"ndots:") {
                            conf.ndots = dtoi(n).min(15);
                        } else if let Some(n) = o.strip_prefix(b"timeout:") {
                            conf.timeout = Duration::from_secs(dtoi(n).max(1) as u64);
                        } else if let Some(n) = o.strip_prefix(b"attempts:") {
                            conf.attempts = dtoi(n).max(1);
                        } else if o == b"rotate" {
                            conf.rotate = true;
                        } else if o == b"single-request" || o == b"single-request-reopen" {
                            conf.single_request = true;
                        } else if o == b"use-vc" || o == b"usevc" || o == b"tcp" {
                            conf.use_tcp = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if conf.servers.is_empty() {
            conf.servers = default_ns();
        }
        if conf.search.is_empty() {
            conf.search = default_search(hostname);
        }
        conf
    }

    /// The names to ask for, in order (Go's nameList): a rooted name only as it is; otherwise
    /// the name itself first if it has at least `ndots` dots, then with each search suffix
    /// (those that keep it under 254 bytes), then the name itself if not tried first. Empty for
    /// names DNS must not see (`.onion`, RFC 7686) and names too long.
    pub(crate) fn name_list(&self, name: &str) -> Vec<String> {
        let bare = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || (bare.len() >= 6 && bare[bare.len() - 6..].eq_ignore_ascii_case(".onion")) {
            return Vec::new();
        }
        let l = name.len();
        let rooted = name.ends_with('.');
        if l > 254 || l == 254 && rooted {
            return Vec::new();
        }
        if rooted {
            return alloc::vec![String::from(name)];
        }
        let has_ndots = name.bytes().filter(|&c| c == b'.').count() >= self.ndots as usize;
        let mut abs = String::from(name);
        abs.push('.');
        let mut names = Vec::with_capacity(1 + self.search.len());
        if has_ndots {
            names.push(abs.clone());
        }
        for suffix in &self.search {
            if abs.len() + suffix.len() <= 254 {
                let mut n = abs.clone();
                n.push_str(suffix);
                names.push(n);
            }
        }
        if !has_ndots {
            names.push(abs);
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn addrs(v: &[&str]) -> Vec<SocketAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }
    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn want(servers: &[&str], search: &[&str]) -> DnsConfig {
        DnsConfig {
            servers: addrs(servers),
            search: strs(search),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            rotate: false,
            single_request: false,
            use_tcp: false,
        }
    }

    /// Go's dnsReadConfigTests on Go's testdata files (fe80::1%lo0 is dropped: a named zone).
    #[test]
    fn go_testdata() {
        let c = DnsConfig::parse(
            Some(b"# /etc/resolv.conf\n\ndomain localdomain\nnameserver 8.8.8.8\nnameserver 2001:4860:4860::8888\nnameserver fe80::1%lo0\noptions ndots:5 timeout:10 attempts:3 rotate\noptions attempts 3\n"),
            b"",
        );
        let mut w = want(&["8.8.8.8:53", "[2001:4860:4860::8888]:53"], &["localdomain."]);
        w.ndots = 5;
        w.timeout = Duration::from_secs(10);
        w.attempts = 3;
        w.rotate = true;
        assert_eq!(c, w);
        let c = DnsConfig::parse(
            Some(b"# /etc/resolv.conf\n\nsearch test invalid\ndomain localdomain\nnameserver 8.8.8.8\n"),
            b"",
        );
        assert_eq!(c, want(&["8.8.8.8:53"], &["localdomain."]));
        let c = DnsConfig::parse(
            Some(b"# /etc/resolv.conf\n\ndomain localdomain\nsearch test invalid\nnameserver 8.8.8.8\n"),
            b"",
        );
        assert_eq!(c, want(&["8.8.8.8:53"], &["test.", "invalid."]));
        let dflt = want(&["127.0.0.1:53", "[::1]:53"], &[]);
        assert_eq!(DnsConfig::parse(Some(b""), b""), dflt);
        assert_eq!(DnsConfig::parse(None, b""), dflt);
        let mut w = dflt.clone();
        w.ndots = 0;
        assert_eq!(DnsConfig::parse(Some(b"options ndots:invalid"), b""), w);
        assert_eq!(DnsConfig::parse(Some(b"options ndots:-1"), b""), w);
        w.ndots = 15;
        assert_eq!(DnsConfig::parse(Some(b"options ndots:16"), b""), w);
        let mut w = dflt.clone();
        w.single_request = true;
        assert_eq!(DnsConfig::parse(Some(b"options single-request"), b""), w);
        assert_eq!(DnsConfig::parse(Some(b"options single-request-reopen"), b""), w);
        let mut w = dflt.clone();
        w.use_tcp = true;
        for o in ["use-vc", "usevc", "tcp"] {
            assert_eq!(DnsConfig::parse(Some(["options ", o].concat().as_bytes()), b""), w, "{o}");
        }
        // The host name's domain when nothing says otherwise (Go's getHostname hook).
        assert_eq!(DnsConfig::parse(None, b"host.domain.local\n").search, strs(&["domain.local."]));
        assert_eq!(DnsConfig::parse(None, b"host").search, strs(&[]));
        assert_eq!(DnsConfig::parse(None, b"host.").search, strs(&[]));
    }

    #[test]
    fn options_and_limits() {
        let c = DnsConfig::parse(
            Some(b"nameserver 10.0.0.1\r\n;nameserver 10.0.0.9\n#x\nnameserver ::1\nnameserver fe80::1%2\nnameserver 10.0.0.4\nnameserver bogus\n\
                   options timeout:0 attempts:0\noptions ndots:99999999999 timeout:99999999999 attempts:7\n search a b.  c \nunknown x\n"),
            b"",
        );
        assert_eq!(c.servers, addrs(&["10.0.0.1:53", "[::1]:53", "[fe80::1%2]:53"]));
        assert_eq!(c.search, strs(&["a.", "b.", "c."]));
        assert_eq!(c.ndots, 15);
        assert_eq!(c.timeout, Duration::from_secs(0xFF_FFFF));
        assert_eq!(c.attempts, 7);
        let c = DnsConfig::parse(Some(b"options timeout:0 attempts:0 attempts:"), b"");
        assert_eq!((c.timeout, c.attempts), (Duration::from_secs(1), 1));
        assert_eq!(dtoi(b"12abc"), 12);
        assert_eq!(dtoi(b""), 0);
    }

    #[test]
    fn name_list() {
        let mut c = want(&["127.0.0.1:53"], &["corp.example.", "example."]);
        assert_eq!(c.name_list("www"), strs(&["www.corp.example.", "www.example.", "www."]));
        assert_eq!(c.name_list("www.go"), strs(&["www.go.", "www.go.corp.example.", "www.go.example."]));
        assert_eq!(c.name_list("www.go."), strs(&["www.go."]));
        c.ndots = 2;
        assert_eq!(c.name_list("www.go"), strs(&["www.go.corp.example.", "www.go.example.", "www.go."]));
        assert!(c.name_list("hidden.onion").is_empty());
        assert!(c.name_list("hidden.ONION.").is_empty());
        assert!(c.name_list("").is_empty());
        let long = "a".repeat(250);
        assert_eq!(c.name_list(&long), strs(&[&(long.clone() + ".")]));
        assert!(c.name_list(&"a".repeat(255)).is_empty());
    }
}
