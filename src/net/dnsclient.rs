//! The DNS stub resolver (Go's net/dnsclient_unix.go and dnsclient.go): asks the servers of a
//! [`DnsConfig`] for a name's A and AAAA records over UDP, retries over TCP when the answer is
//! truncated, and follows CNAME chains.
//!
//! Go's order, step for step: `go_lookup_ip` is goLookupIPCNAMEOrder's DNS part (each name of
//! the search list in turn, A and AAAA asked at the same time on two goroutines unless
//! `single-request`, the first name with addresses wins, the error of the name as given is
//! preferred); `try_one_name` is tryOneName (`attempts` rounds over the servers, starting at the
//! rotation offset; NXDOMAIN, or an answer without the records asked for, ends the search
//! at once: another server will not know better); `exchange` is exchange (a query with a random
//! ID, one `timeout` per try as the socket's deadline; an answer whose ID or question does not
//! match the query is dropped and the wait goes on, as Go does against forgery; the TC bit sends
//! the same query over TCP); `check_header` is checkHeader (NXDOMAIN → not found, a lame
//! referral or a server failure → the next server).
//!
//! One difference: Go takes every A/AAAA record of the answer section, trusting a recursive
//! server to put the chain first (RFC 1035 4.3.1). gort follows the chain from the question's
//! name through CNAME records and takes only the records of its end, and when the server
//! stopped at a CNAME it asks again for the target (up to `MAX_CNAME_HOPS` times).
//! Addresses come back A before AAAA, each in the server's order (Go sorts them by RFC 6724,
//! which gort does not do).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use super::dnsconfig::DnsConfig;
use super::dnsmessage::{
    build_query, Message, Name, RData, CLASS_INET, MAX_DNS_PACKET_SIZE, RCODE_NAME_ERROR, RCODE_SERVER_FAILURE,
    RCODE_SUCCESS, TYPE_A, TYPE_AAAA, TYPE_CNAME,
};
use super::{TcpStream, UdpSocket};
use crate::io::{Error, ErrorKind};
use crate::time::Instant;

/// Go's errNoSuchHost.
pub(super) const NO_SUCH_HOST: Error = Error::new(ErrorKind::NotFound, "no such host");
const CANNOT_UNMARSHAL: Error = Error::new(ErrorKind::InvalidData, "cannot unmarshal DNS message");
const CANNOT_MARSHAL: Error = Error::new(ErrorKind::InvalidInput, "cannot marshal DNS message");
const INVALID_RESPONSE: Error = Error::new(ErrorKind::InvalidData, "invalid DNS response");
const LAME_REFERRAL: Error = Error::new(ErrorKind::Other, "lame referral");
const SERVER_MISBEHAVING: Error = Error::new(ErrorKind::Other, "server misbehaving");
const NO_ANSWER: Error = Error::new(ErrorKind::Other, "no answer from DNS server");
const CNAME_LOOP: Error = Error::new(ErrorKind::Other, "CNAME chain too long");

/// How many times a CNAME target is asked for again when a server stopped at an alias.
const MAX_CNAME_HOPS: usize = 8;

/// Go's dnsConfig.soffset: where the next lookup starts in the server list with `rotate`.
static SOFFSET: AtomicU32 = AtomicU32::new(0);

/// Go's isDomainName: letters, digits, `_` and `-` (not right after a dot, not at the end),
/// labels of 1 to 63 bytes, at most 253 bytes (254 rooted), not all numeric; "." is valid.
pub(super) fn is_domain_name(s: &str) -> bool {
    if s == "." {
        return true;
    }
    let b = s.as_bytes();
    let l = b.len();
    if l == 0 || l > 254 || l == 254 && b[l - 1] != b'.' {
        return false;
    }
    let mut last = b'.';
    let mut non_numeric = false;
    let mut partlen = 0;
    for &c in b {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                non_numeric = true;
                partlen += 1;
            }
            b'0'..=b'9' => partlen += 1,
            b'-' => {
                if last == b'.' {
                    return false;
                }
                partlen += 1;
                non_numeric = true;
            }
            b'.' => {
                if last == b'.' || last == b'-' || partlen > 63 || partlen == 0 {
                    return false;
                }
                partlen = 0;
            }
            _ => return false,
        }
        last = c;
    }
    if last == b'-' || partlen > 63 {
        return false;
    }
    non_numeric
}

/// Go's checkResponse: an answer to our query (response bit, ID, the one question).
fn check_response(id: u16, name: &Name, qtype: u16, m: &Message) -> bool {
    m.header.response
        && m.header.id == id
        && m.questions.first().is_some_and(|q| q.qtype == qtype && q.class == CLASS_INET && q.name.eq_ignore_case(name))
}

/// One query over UDP (Go's dnsPacketRoundTrip): a connected socket, so only the server's
/// datagrams arrive; answers that are malformed or not ours are dropped and the wait goes on
/// until the deadline.
fn udp_round_trip(
    server: SocketAddr,
    id: u16,
    name: &Name,
    qtype: u16,
    q: &[u8],
    deadline: Instant,
) -> Result<Message, Error> {
    let local: IpAddr = if server.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
    let c = UdpSocket::bind(SocketAddr::new(local, 0))?;
    c.connect(server)?;
    c.set_read_deadline(Some(deadline))?;
    c.set_write_deadline(Some(deadline))?;
    c.send(q)?;
    let mut b = vec![0u8; MAX_DNS_PACKET_SIZE];
    loop {
        let n = c.recv(&mut b)?;
        match Message::parse(&b[..n]) {
            Ok(m) if check_response(id, name, qtype, &m) => return Ok(m),
            _ => continue,
        }
    }
}

/// One query over TCP (Go's dnsStreamRoundTrip): two length bytes, then the message.
fn tcp_round_trip(
    server: SocketAddr,
    id: u16,
    name: &Name,
    qtype: u16,
    q: &[u8],
    deadline: Instant,
) -> Result<Message, Error> {
    let c = TcpStream::connect_timeout(server, deadline.saturating_duration_since(Instant::now()))?;
    c.set_deadline(Some(deadline))?;
    let mut req = Vec::with_capacity(2 + q.len());
    req.extend_from_slice(&(q.len() as u16).to_be_bytes());
    req.extend_from_slice(q);
    c.write_all(&req)?;
    let mut l = [0u8; 2];
    c.read_exact(&mut l)?;
    let mut b = vec![0u8; u16::from_be_bytes(l) as usize];
    c.read_exact(&mut b)?;
    let m = Message::parse(&b).map_err(|_| CANNOT_UNMARSHAL)?;
    if !check_response(id, name, qtype, &m) {
        return Err(INVALID_RESPONSE);
    }
    Ok(m)
}

/// Go's exchange: UDP then, if the answer is truncated, TCP (TCP only with `use-vc`); each
/// try has `timeout`.
fn exchange(server: SocketAddr, name: &Name, qtype: u16, timeout: Duration, use_tcp: bool) -> Result<Message, Error> {
    let id = crate::alg::fastrand() as u16;
    let q = build_query(id, name, qtype);
    for tcp in [false, true] {
        if use_tcp && !tcp {
            continue;
        }
        let deadline = Instant::now() + timeout;
        let m = if tcp {
            tcp_round_trip(server, id, name, qtype, &q, deadline)?
        } else {
            udp_round_trip(server, id, name, qtype, &q, deadline)?
        };
        if m.questions.len() != 1 {
            return Err(INVALID_RESPONSE);
        }
        if m.header.truncated {
            continue; // RFC 7766: ask again over TCP
        }
        return Ok(m);
    }
    Err(NO_ANSWER)
}

/// Go's checkHeader.
fn check_header(m: &Message) -> Result<(), Error> {
    let h = &m.header;
    if h.rcode == RCODE_NAME_ERROR {
        return Err(NO_SUCH_HOST);
    }
    // libresolv goes on to the next server on a referral (golang.org/issue/15434).
    if h.rcode == RCODE_SUCCESS && !h.authoritative && !h.recursion_available && m.answers.is_empty() {
        return Err(LAME_REFERRAL);
    }
    if h.rcode == RCODE_SERVER_FAILURE {
        // Go marks this one temporary; either way the next server is asked.
        return Err(SERVER_MISBEHAVING);
    }
    if h.rcode != RCODE_SUCCESS {
        return Err(SERVER_MISBEHAVING);
    }
    Ok(())
}

/// What an answer says about `name`.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The records of type `qtype` at the end of the CNAME chain from `name`.
    Addrs(Vec<IpAddr>),
    /// The chain ends at this alias, with no records for it: ask for it.
    Alias(Name),
    /// Neither (Go's skipToAnswer finding nothing: no such host).
    NoData,
}

/// Follows the CNAME chain from `name` through the answer section (each step at most once,
/// so a loop in the message ends) and takes the `qtype` records of where it ends.
fn answer_addrs(m: &Message, name: &Name, qtype: u16) -> Answer {
    let mut cur = name;
    for _ in 0..=m.answers.len() {
        let at_cur = |t: u16| {
            m.answers.iter().filter(move |r| r.class == CLASS_INET && r.rtype == t && r.name.eq_ignore_case(cur))
        };
        let addrs: Vec<IpAddr> = at_cur(qtype)
            .filter_map(|r| match r.data {
                RData::A(a) => Some(IpAddr::V4(a)),
                RData::Aaaa(a) => Some(IpAddr::V6(a)),
                _ => None,
            })
            .collect();
        if !addrs.is_empty() {
            return Answer::Addrs(addrs);
        }
        match at_cur(TYPE_CNAME).find_map(|r| if let RData::Cname(t) = &r.data { Some(t) } else { None }) {
            Some(t) => cur = t,
            None => break,
        }
    }
    if cur.eq_ignore_case(name) {
        Answer::NoData
    } else {
        Answer::Alias(cur.clone())
    }
}

/// Go's tryOneName for a rooted name, plus the CNAME hops (see the module doc).
pub(super) fn try_one_name(conf: &DnsConfig, fqdn: &str, qtype: u16) -> Result<Vec<IpAddr>, Error> {
    let mut name = Name::new(fqdn).ok_or(CANNOT_MARSHAL)?;
    for _ in 0..=MAX_CNAME_HOPS {
        match ask(conf, &name, qtype)? {
            Answer::Addrs(a) => return Ok(a),
            Answer::Alias(t) => name = t,
            Answer::NoData => return Err(NO_SUCH_HOST),
        }
    }
    Err(CNAME_LOOP)
}

/// `attempts` rounds over the servers for one question.
fn ask(conf: &DnsConfig, name: &Name, qtype: u16) -> Result<Answer, Error> {
    let n = conf.servers.len();
    let off = if conf.rotate { SOFFSET.fetch_add(1, Ordering::Relaxed) as usize } else { 0 };
    let mut last = NO_ANSWER;
    for _ in 0..conf.attempts {
        for j in 0..n {
            let server = conf.servers[(off + j) % n];
            let m = match exchange(server, name, qtype, conf.timeout, conf.use_tcp) {
                Ok(m) => m,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            if let Err(e) = check_header(&m) {
                if e == NO_SUCH_HOST {
                    // The name does not exist: another server will not help.
                    return Err(e);
                }
                last = e;
                continue;
            }
            return Ok(answer_addrs(&m, name, qtype));
        }
    }
    Err(last)
}

/// The DNS part of Go's goLookupIPCNAMEOrder: each name of the search list in turn, A and AAAA
/// for it (in parallel unless `single-request`), until one has addresses.
pub(super) fn go_lookup_ip(conf: Arc<DnsConfig>, name: &str) -> Result<Vec<IpAddr>, Error> {
    if !is_domain_name(name) {
        return Err(NO_SUCH_HOST);
    }
    let mut last: Option<Error> = None;
    let mut addrs = Vec::new();
    let mut as_given = String::from(name);
    if !as_given.ends_with('.') {
        as_given.push('.');
    }
    for fqdn in conf.name_list(name) {
        let results = if conf.single_request {
            [try_one_name(&conf, &fqdn, TYPE_A), try_one_name(&conf, &fqdn, TYPE_AAAA)]
        } else {
            let (tx, rx) = crate::chan::<Result<Vec<IpAddr>, Error>>(1);
            let (c, f) = (conf.clone(), fqdn.clone());
            crate::go(move || {
                let _ = tx.send(try_one_name(&c, &f, TYPE_AAAA));
            });
            let a = try_one_name(&conf, &fqdn, TYPE_A);
            [a, rx.recv().unwrap_or(Err(NO_ANSWER))]
        };
        for r in results {
            match r {
                Ok(v) => addrs.extend(v),
                // Prefer the error for the name as given.
                Err(e) if last.is_none() || fqdn == as_given => last = Some(e),
                Err(_) => {}
            }
        }
        if !addrs.is_empty() {
            return Ok(addrs);
        }
    }
    Err(last.unwrap_or(NO_SUCH_HOST))
}

#[cfg(test)]
mod tests {
    use super::super::dnsmessage::{Header, Question, Resource};
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn rr(owner: &str, data: RData) -> Resource {
        let rtype = match data {
            RData::A(_) => TYPE_A,
            RData::Aaaa(_) => TYPE_AAAA,
            RData::Cname(_) => TYPE_CNAME,
            RData::Other => 16,
        };
        Resource { name: name(owner), rtype, class: CLASS_INET, ttl: 60, data }
    }

    fn msg(q: &str, qtype: u16, answers: Vec<Resource>) -> Message {
        Message {
            header: Header { id: 1, response: true, recursion_available: true, ..Header::default() },
            questions: vec![Question { name: name(q), qtype, class: CLASS_INET }],
            answers,
        }
    }

    fn v4(s: &str) -> RData {
        RData::A(s.parse().unwrap())
    }

    #[test]
    fn cname_chains() {
        let q = name("www.example.com");
        // Direct answer, case-insensitive owner.
        let m = msg(
            "www.example.com",
            TYPE_A,
            vec![rr("WWW.example.COM", v4("192.0.2.1")), rr("www.example.com", v4("192.0.2.2"))],
        );
        assert_eq!(
            answer_addrs(&m, &q, TYPE_A),
            Answer::Addrs(vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()])
        );
        // A chain of two, records listed out of order; an off-chain A record is ignored.
        let m = msg(
            "www.example.com",
            TYPE_A,
            vec![
                rr("evil.example", v4("6.6.6.6")),
                rr("b.example", v4("192.0.2.9")),
                rr("a.example", RData::Cname(name("b.example"))),
                rr("www.example.com", RData::Cname(name("a.example"))),
            ],
        );
        assert_eq!(answer_addrs(&m, &q, TYPE_A), Answer::Addrs(vec!["192.0.2.9".parse().unwrap()]));
        // AAAA asked: the A record at the end does not count; the chain ends at b.example.
        assert_eq!(answer_addrs(&m, &q, TYPE_AAAA), Answer::Alias(name("b.example")));
        // The server stopped at the alias.
        let m = msg("www.example.com", TYPE_A, vec![rr("www.example.com", RData::Cname(name("web.example.net")))]);
        assert_eq!(answer_addrs(&m, &q, TYPE_A), Answer::Alias(name("web.example.net")));
        // A loop ends.
        let m = msg(
            "www.example.com",
            TYPE_A,
            vec![
                rr("www.example.com", RData::Cname(name("x.example"))),
                rr("x.example", RData::Cname(name("www.example.com"))),
            ],
        );
        assert!(matches!(answer_addrs(&m, &q, TYPE_A), Answer::Alias(_) | Answer::NoData));
        // Nothing for the name (NODATA).
        assert_eq!(answer_addrs(&msg("www.example.com", TYPE_A, vec![]), &q, TYPE_A), Answer::NoData);
    }

    #[test]
    fn headers_and_responses() {
        let mut m = msg("www.example.com", TYPE_A, vec![]);
        assert_eq!(check_header(&m), Ok(()));
        m.header.rcode = RCODE_NAME_ERROR;
        assert_eq!(check_header(&m), Err(NO_SUCH_HOST));
        assert_eq!(check_header(&m).unwrap_err().kind(), ErrorKind::NotFound);
        m.header.rcode = RCODE_SERVER_FAILURE;
        assert_eq!(check_header(&m), Err(SERVER_MISBEHAVING));
        m.header.rcode = RCODE_SUCCESS;
        m.header.recursion_available = false;
        assert_eq!(check_header(&m), Err(LAME_REFERRAL));
        m.header.authoritative = true;
        assert_eq!(check_header(&m), Ok(()));

        let q = name("www.example.com");
        let m = msg("WWW.EXAMPLE.COM", TYPE_A, vec![]);
        assert!(check_response(1, &q, TYPE_A, &m));
        assert!(!check_response(2, &q, TYPE_A, &m));
        assert!(!check_response(1, &q, TYPE_AAAA, &m));
        assert!(!check_response(1, &name("www.example.org"), TYPE_A, &m));
        let mut m2 = m.clone();
        m2.header.response = false;
        assert!(!check_response(1, &q, TYPE_A, &m2));
        m2 = m.clone();
        m2.questions.clear();
        assert!(!check_response(1, &q, TYPE_A, &m2));
        m2 = m;
        m2.questions[0].class = 3;
        assert!(!check_response(1, &q, TYPE_A, &m2));
    }

    #[test]
    fn domain_names() {
        for ok in ["localhost", "a.b", "_srv._tcp.x", "a-b.c", "1a", ".", "x.", &"a".repeat(63)] {
            assert!(is_domain_name(ok), "{ok}");
        }
        for bad in ["", "..", "a..b", "-a", "a-", "a.-b", "a-.b", "123", "1.2.3.4", "a b", "a/b", "é", &"a".repeat(64)]
        {
            assert!(!is_domain_name(bad), "{bad}");
        }
        let l253 = ["a".repeat(63), "a".repeat(63), "a".repeat(63), "a".repeat(61)].join(".");
        assert_eq!(l253.len(), 253);
        assert!(is_domain_name(&l253));
        assert!(is_domain_name(&(l253.clone() + ".")));
        assert!(!is_domain_name(&(l253 + "a")));
    }
}
