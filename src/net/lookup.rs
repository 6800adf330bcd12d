//! Name resolution (Go's net/lookup.go and lookup_unix.go, with the pure Go resolver's order):
//! [`lookup_host`] and [`Resolver`].
//!
//! A host is looked up in this order, the first that knows it answers:
//! 1. a numeric address (`"192.0.2.1"`, `"::1"`) is itself;
//! 2. the hosts file (`/etc/hosts`: see hosts.rs);
//! 3. `localhost` and names ending in `.localhost` are 127.0.0.1 and ::1 without asking DNS
//!    (RFC 6761 6.3; systemd's nss-myhostname does the same for glibc programs; Go leaves it to
//!    the hosts file);
//! 4. DNS over UDP (TCP when the answer is truncated) to the servers of `/etc/resolv.conf`, A
//!    and AAAA at the same time, through the search list (dnsclient.rs, dnsconfig.rs).
//!
//! The hosts file and resolv.conf are read again at most every 5 seconds (Go: the hosts file's
//! cacheMaxAge, resolv.conf's lastChecked). Files are read through `gort::fs` (entersyscall, as
//! Go's os package); the queries themselves park on the poller.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use super::dnsclient::{go_lookup_ip, NO_SUCH_HOST};
use super::dnsconfig::DnsConfig;
use super::hosts::Hosts;
use crate::io::Error;
use crate::sync::Mutex;
use crate::time::Instant;

/// How long a read hosts file or resolv.conf is trusted.
const CACHE_MAX_AGE: Duration = Duration::from_secs(5);

/// The resolver [`lookup_host`] and the [`ToSocketAddrs`](super::ToSocketAddrs) impls use.
static DEFAULT_RESOLVER: Resolver = Resolver::new();

/// The addresses of `host` (Go's net.LookupHost, with `IpAddr`s): numeric, then `/etc/hosts`,
/// then DNS to the servers of `/etc/resolv.conf` (see [`Resolver`]). An unknown name fails with
/// [`ErrorKind::NotFound`](crate::io::ErrorKind) ("no such host").
///
/// ```
/// let ips = gort::net::lookup_host("localhost").unwrap();
/// assert!(ips.iter().all(|ip| ip.is_loopback()));
/// assert_eq!(gort::net::lookup_host("192.0.2.7").unwrap(), ["192.0.2.7".parse::<gort::net::IpAddr>().unwrap()]);
/// ```
pub fn lookup_host(host: &str) -> Result<Vec<IpAddr>, Error> {
    DEFAULT_RESOLVER.lookup_host(host)
}

/// What is read from the files, and when.
#[derive(Default)]
struct Cache {
    conf: Option<(Instant, Arc<DnsConfig>)>,
    hosts: Option<(Instant, Arc<Hosts>)>,
}

/// A DNS stub resolver (Go's net.Resolver with PreferGo): the system's configuration
/// (`/etc/resolv.conf`, `/etc/hosts`), each part of which can be replaced, as Go's own tests
/// replace the files.
///
/// ```no_run
/// use core::time::Duration;
/// use gort::net::Resolver;
///
/// let r = Resolver::new()
///     .nameservers(&["127.0.0.1:5353".parse().unwrap()])
///     .hosts_file("/tmp/test-hosts")
///     .timeout(Duration::from_millis(500))
///     .attempts(1);
/// match r.lookup_host("printer.lan") {
///     Ok(ips) => gort::println!("{ips:?}"),
///     Err(e) => gort::println!("{e} ({:?})", e.kind()), // no such host (NotFound)
/// }
/// ```
pub struct Resolver {
    resolv_conf: Option<Vec<u8>>,
    hosts_file: Option<Vec<u8>>,
    nameservers: Option<Vec<SocketAddr>>,
    search: Option<Vec<String>>,
    ndots: Option<u32>,
    timeout: Option<Duration>,
    attempts: Option<u32>,
    cache: Mutex<Option<Cache>>,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::new()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rc = self.resolv_conf.as_deref().unwrap_or(b"/etc/resolv.conf");
        let hf = self.hosts_file.as_deref().unwrap_or(b"/etc/hosts");
        f.debug_struct("Resolver")
            .field("resolv_conf", &String::from_utf8_lossy(rc))
            .field("hosts_file", &String::from_utf8_lossy(hf))
            .field("nameservers", &self.nameservers)
            .field("search", &self.search)
            .field("ndots", &self.ndots)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Resolver {
    /// The system's resolver: `/etc/resolv.conf` and `/etc/hosts`, read when needed.
    pub const fn new() -> Resolver {
        Resolver {
            resolv_conf: None,
            hosts_file: None,
            nameservers: None,
            search: None,
            ndots: None,
            timeout: None,
            attempts: None,
            cache: Mutex::new(None),
        }
    }

    /// Reads this file instead of `/etc/resolv.conf` (a missing file gives Go's defaults).
    pub fn resolv_conf(mut self, path: impl AsRef<[u8]>) -> Self {
        self.resolv_conf = Some(path.as_ref().to_vec());
        self
    }

    /// Reads this hosts file instead of `/etc/hosts` (a missing file knows no names).
    pub fn hosts_file(mut self, path: impl AsRef<[u8]>) -> Self {
        self.hosts_file = Some(path.as_ref().to_vec());
        self
    }

    /// Asks these servers, in order (any port), instead of resolv.conf's `nameserver`s.
    pub fn nameservers(mut self, servers: &[SocketAddr]) -> Self {
        self.nameservers = Some(servers.to_vec());
        self
    }

    /// Uses these suffixes instead of resolv.conf's `search` list (empty: none).
    pub fn search(mut self, domains: &[&str]) -> Self {
        self.search = Some(
            domains
                .iter()
                .map(|d| {
                    let mut s = String::from(*d);
                    if !s.ends_with('.') {
                        s.push('.');
                    }
                    s
                })
                .collect(),
        );
        self
    }

    /// resolv.conf's `options ndots:N`: names with at least `n` dots are tried as they are
    /// before the search list.
    pub fn ndots(mut self, n: u32) -> Self {
        self.ndots = Some(n);
        self
    }

    /// How long to wait for one server's answer to one query (resolv.conf's `options
    /// timeout:N`, default 5 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// How many rounds over the server list (resolv.conf's `options attempts:N`, default 2; at
    /// least 1).
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = Some(n.max(1));
        self
    }

    /// The addresses of `host`: numeric, the hosts file, `localhost`, then DNS (see
    /// [`lookup_host`] and the module doc). Errors: `NotFound` ("no such host") when the name
    /// does not exist or has no address, `TimedOut` when no server answered in time, the
    /// socket's error (e.g. `ConnectionRefused`) when no server could be reached, `InvalidData`
    /// for a malformed answer.
    pub fn lookup_host(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        // windows: the system's resolver (GetAddrInfoW), as Go's windows port, unless this
        // resolver was pointed at servers or files of its own.
        #[cfg(windows)]
        if self.resolv_conf.is_none() && self.hosts_file.is_none() && self.nameservers.is_none() {
            if host.is_empty() {
                return Err(NO_SUCH_HOST);
            }
            return crate::sys::socket::getaddrinfo(host);
        }
        let hosts = self.hosts();
        let ips = hosts.lookup(host);
        if !ips.is_empty() {
            return Ok(ips);
        }
        if is_localhost(host) {
            return Ok(vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]);
        }
        if host.is_empty() {
            return Err(NO_SUCH_HOST);
        }
        go_lookup_ip(self.config(), host)
    }

    /// The hosts file, read again once CACHE_MAX_AGE has passed.
    fn hosts(&self) -> Arc<Hosts> {
        let now = Instant::now();
        if let Some(c) = &*self.cache.lock() {
            if let Some((t, h)) = &c.hosts {
                if now.saturating_duration_since(*t) < CACHE_MAX_AGE {
                    return h.clone();
                }
            }
        }
        let path = self.hosts_file.as_deref().unwrap_or(b"/etc/hosts");
        // Go ignores a hosts file it cannot read.
        let h = Arc::new(Hosts::parse(&crate::fs::read(path).unwrap_or_default()));
        self.cache.lock().get_or_insert_with(Cache::default).hosts = Some((now, h.clone()));
        h
    }

    /// resolv.conf with this resolver's overrides, read again once CACHE_MAX_AGE has passed.
    fn config(&self) -> Arc<DnsConfig> {
        let now = Instant::now();
        if let Some(c) = &*self.cache.lock() {
            if let Some((t, conf)) = &c.conf {
                if now.saturating_duration_since(*t) < CACHE_MAX_AGE {
                    return conf.clone();
                }
            }
        }
        let path = self.resolv_conf.as_deref().unwrap_or(b"/etc/resolv.conf");
        let text = crate::fs::read(path).ok();
        // Go's os.Hostname reads this file on linux; only the default search list needs it.
        let hostname = if self.search.is_none() {
            crate::fs::read("/proc/sys/kernel/hostname").unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut conf = DnsConfig::parse(text.as_deref(), &hostname);
        if let Some(s) = &self.nameservers {
            conf.servers = s.clone();
        }
        if let Some(s) = &self.search {
            conf.search = s.clone();
        }
        if let Some(n) = self.ndots {
            conf.ndots = n;
        }
        if let Some(t) = self.timeout {
            conf.timeout = t;
        }
        if let Some(n) = self.attempts {
            conf.attempts = n;
        }
        let conf = Arc::new(conf);
        self.cache.lock().get_or_insert_with(Cache::default).conf = Some((now, conf.clone()));
        conf
    }
}

/// `localhost`, `*.localhost`, with or without the trailing dot (Go's isLocalhost, without the
/// `localhost.localdomain` forms, which are ordinary names to DNS).
fn is_localhost(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    h.eq_ignore_ascii_case("localhost")
        || (h.len() > 10 && h.is_char_boundary(h.len() - 10) && h[h.len() - 10..].eq_ignore_ascii_case(".localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_names() {
        for y in ["localhost", "LocalHost.", "a.localhost", "x.y.LOCALHOST."] {
            assert!(is_localhost(y), "{y}");
        }
        for n in ["", ".localhost", "localhost.localdomain", "notlocalhost", "localhost.example", "éélocalhost"] {
            assert!(!is_localhost(n), "{n}");
        }
    }
}
