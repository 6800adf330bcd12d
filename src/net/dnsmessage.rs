//! DNS messages (RFC 1035): the part of Go's golang.org/x/net/dns/dnsmessage that its resolver
//! uses. A query is built with one question and an EDNS(0) OPT record (Go's `newRequest`); an
//! answer is parsed eagerly into its header, its question and its answer records (A, AAAA and
//! CNAME decoded, the others kept as their type).
//!
//! The parser reads what a network peer sent, so it trusts nothing: every length is checked
//! against the buffer, a compression pointer must point before the run of labels it ends
//! (so a chain of pointers always moves backwards and ends), a name is at most 255 bytes, and
//! A/AAAA data must be exactly 4/16 bytes. Anything else is an [`Malformed`] error, never a panic
//! (the `dnsmessage` fuzz target in src/fuzz.rs checks this against an independent parser).

use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

/// Resource record type A (an IPv4 address).
pub(crate) const TYPE_A: u16 = 1;
/// Resource record type CNAME (the canonical name of an alias).
pub(crate) const TYPE_CNAME: u16 = 5;
/// Resource record type AAAA (an IPv6 address).
pub(crate) const TYPE_AAAA: u16 = 28;
/// The EDNS(0) pseudo-record (RFC 6891).
pub(crate) const TYPE_OPT: u16 = 41;
/// Class IN.
pub(crate) const CLASS_INET: u16 = 1;

/// RCODE: no error.
pub(crate) const RCODE_SUCCESS: u8 = 0;
/// RCODE: server failure (Go: a temporary error).
pub(crate) const RCODE_SERVER_FAILURE: u8 = 2;
/// RCODE: the name does not exist (NXDOMAIN).
pub(crate) const RCODE_NAME_ERROR: u8 = 3;

/// The largest UDP answer gort asks for (Go's maxDNSPacketSize, from dnsflagday.net/2020).
pub(crate) const MAX_DNS_PACKET_SIZE: usize = 1232;

/// A message could not be parsed (Go's errCannotUnmarshalDNSMessage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A domain name in wire form: length-prefixed labels ending with the empty root label,
/// uncompressed, at most 255 bytes (RFC 1035 3.1).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Name(Vec<u8>);

impl Name {
    /// The wire form of a name in presentation form ("example.com" or "example.com."): labels of
    /// 1 to 63 bytes, 255 bytes in all. `None` if it is not one (Go's NewName + pack checks).
    /// No escapes: the resolver only sends names that passed `is_domain_name`.
    pub(crate) fn new(text: &str) -> Option<Name> {
        let t = text.strip_suffix('.').unwrap_or(text);
        let mut w = Vec::with_capacity(t.len() + 2);
        if !t.is_empty() {
            for label in t.split('.') {
                if label.is_empty() || label.len() > 63 {
                    return None;
                }
                w.push(label.len() as u8);
                w.extend_from_slice(label.as_bytes());
            }
        }
        w.push(0);
        (w.len() <= 255).then_some(Name(w))
    }

    /// The wire bytes.
    #[cfg(test)]
    pub(crate) fn wire(&self) -> &[u8] {
        &self.0
    }

    /// Equal, ignoring ASCII case (Go's equalASCIIName; DNS names compare case-insensitively).
    pub(crate) fn eq_ignore_case(&self, other: &Name) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for Name {
    /// Presentation form, rooted ("example.com."); bytes outside printable ASCII, dots and
    /// backslashes inside a label are escaped as `\DDD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        if self.0.len() <= 1 {
            return f.write_str(".");
        }
        while let Some(&n) = self.0.get(i) {
            if n == 0 {
                break;
            }
            for &c in &self.0[i + 1..i + 1 + n as usize] {
                if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                    write!(f, "{}", c as char)?;
                } else {
                    write!(f, "\\{c:03}")?;
                }
            }
            f.write_str(".")?;
            i += 1 + n as usize;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A message header (RFC 1035 4.1.1), the flags Go's resolver looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Header {
    pub(crate) id: u16,
    pub(crate) response: bool,
    pub(crate) authoritative: bool,
    pub(crate) truncated: bool,
    pub(crate) recursion_desired: bool,
    pub(crate) recursion_available: bool,
    pub(crate) rcode: u8,
}

/// A question: name, type, class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Question {
    pub(crate) name: Name,
    pub(crate) qtype: u16,
    pub(crate) class: u16,
}

/// The data of a record, decoded for the types the resolver uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name),
    /// Any other type: its data is skipped.
    Other,
}

/// A resource record of the answer section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    pub(crate) name: Name,
    pub(crate) rtype: u16,
    pub(crate) class: u16,
    pub(crate) ttl: u32,
    pub(crate) data: RData,
}

/// A parsed message: header, questions, answers (authority and additional records are not
/// decoded: the resolver does not use them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) header: Header,
    pub(crate) questions: Vec<Question>,
    pub(crate) answers: Vec<Resource>,
}

/// A query for `name` (wire form) and `qtype`, class IN, recursion desired, with an EDNS(0)
/// OPT record advertising MAX_DNS_PACKET_SIZE (Go's newRequest). UDP form (no length prefix).
pub(crate) fn build_query(id: u16, name: &Name, qtype: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(12 + name.0.len() + 4 + 11);
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    b.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]); // QD=1, AN=0, NS=0, AR=1
    b.extend_from_slice(&name.0);
    b.extend_from_slice(&qtype.to_be_bytes());
    b.extend_from_slice(&CLASS_INET.to_be_bytes());
    // OPT: root name, type, class = UDP payload size, TTL = extended rcode/version/flags 0, no data.
    b.push(0);
    b.extend_from_slice(&TYPE_OPT.to_be_bytes());
    b.extend_from_slice(&(MAX_DNS_PACKET_SIZE as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    b
}

/// A reader over the message with bounds checks on every step.
struct Reader<'a> {
    msg: &'a [u8],
    off: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.off.checked_add(n).ok_or(Malformed)?;
        let s = self.msg.get(self.off..end).ok_or(Malformed)?;
        self.off = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, Malformed> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, Malformed> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// A name at the current offset, following compression pointers (RFC 1035 4.1.4). The
    /// offset moves past the name's bytes here (up to and including the first pointer).
    fn name(&mut self) -> Result<Name, Malformed> {
        let mut out = Vec::with_capacity(32);
        let mut pos = self.off;
        // Where the current run of labels starts: a pointer must point before it, so every
        // jump moves strictly backwards and the walk ends.
        let mut run_start = pos;
        let mut jumped = false;
        loop {
            let c = *self.msg.get(pos).ok_or(Malformed)?;
            match c & 0xc0 {
                0x00 => {
                    let n = c as usize;
                    let label = self.msg.get(pos + 1..pos + 1 + n).ok_or(Malformed)?;
                    out.push(c);
                    out.extend_from_slice(label);
                    if out.len() > 255 {
                        return Err(Malformed);
                    }
                    pos += 1 + n;
                    if n == 0 {
                        break;
                    }
                }
                0xc0 => {
                    let lo = *self.msg.get(pos + 1).ok_or(Malformed)?;
                    let target = (((c & 0x3f) as usize) << 8) | lo as usize;
                    if target >= run_start {
                        return Err(Malformed);
                    }
                    if !jumped {
                        self.off = pos + 2;
                        jumped = true;
                    }
                    pos = target;
                    run_start = target;
                }
                // 0x40 (extended label types, RFC 6891 dropped them) and 0x80 are reserved.
                _ => return Err(Malformed),
            }
        }
        if !jumped {
            self.off = pos;
        }
        Ok(Name(out))
    }
}

impl Message {
    /// Parses `msg` (UDP form: no length prefix).
    pub(crate) fn parse(msg: &[u8]) -> Result<Message, Malformed> {
        let mut r = Reader { msg, off: 0 };
        let id = r.u16()?;
        let bits = r.u16()?;
        let qd = r.u16()?;
        let an = r.u16()?;
        let _ns = r.u16()?;
        let _ar = r.u16()?;
        let header = Header {
            id,
            response: bits & 0x8000 != 0,
            authoritative: bits & 0x0400 != 0,
            truncated: bits & 0x0200 != 0,
            recursion_desired: bits & 0x0100 != 0,
            recursion_available: bits & 0x0080 != 0,
            rcode: (bits & 0xf) as u8,
        };
        // Every question takes at least 5 bytes and every record 11: a count larger than the
        // bytes left is malformed before anything is allocated for it.
        let left = msg.len() - r.off;
        if qd as usize * 5 > left || an as usize * 11 > left {
            return Err(Malformed);
        }
        let mut questions = Vec::with_capacity(qd as usize);
        for _ in 0..qd {
            let name = r.name()?;
            let qtype = r.u16()?;
            let class = r.u16()?;
            questions.push(Question { name, qtype, class });
        }
        let mut answers = Vec::with_capacity(an as usize);
        for _ in 0..an {
            let name = r.name()?;
            let rtype = r.u16()?;
            let class = r.u16()?;
            let ttl = r.u32()?;
            let len = r.u16()? as usize;
            let start = r.off;
            let data = r.take(len)?;
            let data = match rtype {
                TYPE_A => RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(data).map_err(|_| Malformed)?)),
                TYPE_AAAA => RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(data).map_err(|_| Malformed)?)),
                TYPE_CNAME => {
                    // The name may point anywhere before it, but its own bytes must fill the
                    // record's data exactly.
                    let mut nr = Reader { msg: &msg[..start + len], off: start };
                    let n = nr.name()?;
                    if nr.off != start + len {
                        return Err(Malformed);
                    }
                    RData::Cname(n)
                }
                _ => RData::Other,
            };
            answers.push(Resource { name, rtype, class, ttl, data });
        }
        Ok(Message { header, questions, answers })
    }
}

/// Encodes a message without compression (the e2e responder's and the fuzz oracle's builder;
/// the resolver itself only builds queries). `RData::Other` records get empty data.
#[cfg(test)]
pub(crate) fn encode(m: &Message) -> Vec<u8> {
    let h = &m.header;
    let mut b = Vec::new();
    b.extend_from_slice(&h.id.to_be_bytes());
    let bits = (h.response as u16) << 15
        | (h.authoritative as u16) << 10
        | (h.truncated as u16) << 9
        | (h.recursion_desired as u16) << 8
        | (h.recursion_available as u16) << 7
        | h.rcode as u16;
    b.extend_from_slice(&bits.to_be_bytes());
    b.extend_from_slice(&(m.questions.len() as u16).to_be_bytes());
    b.extend_from_slice(&(m.answers.len() as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    for q in &m.questions {
        b.extend_from_slice(&q.name.0);
        b.extend_from_slice(&q.qtype.to_be_bytes());
        b.extend_from_slice(&q.class.to_be_bytes());
    }
    for a in &m.answers {
        b.extend_from_slice(&a.name.0);
        b.extend_from_slice(&a.rtype.to_be_bytes());
        b.extend_from_slice(&a.class.to_be_bytes());
        b.extend_from_slice(&a.ttl.to_be_bytes());
        let data: Vec<u8> = match &a.data {
            RData::A(ip) => ip.octets().to_vec(),
            RData::Aaaa(ip) => ip.octets().to_vec(),
            RData::Cname(n) => n.0.clone(),
            RData::Other => Vec::new(),
        };
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(&data);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn names() {
        assert_eq!(name("example.com").wire(), b"\x07example\x03com\x00");
        assert_eq!(name("example.com."), name("example.com"));
        assert_eq!(name(".").wire(), b"\x00");
        assert_eq!(name("").wire(), b"\x00");
        assert_eq!(name("a.b.").to_string(), "a.b.");
        assert_eq!(name(".").to_string(), ".");
        assert!(Name::new("a..b").is_none());
        assert!(Name::new("..").is_none());
        let l63 = "x".repeat(63);
        assert!(Name::new(&l63).is_some());
        assert!(Name::new(&"x".repeat(64)).is_none());
        // 4 labels of 63 = 4*64 + 1 = 257 > 255.
        assert!(Name::new(&[&l63[..], &l63, &l63, &l63].join(".")).is_none());
        assert!(Name::new(&[&l63[..], &l63, &l63, &l63[..61]].join(".")).is_some());
        assert!(name("WWW.Example.COM").eq_ignore_case(&name("www.example.com")));
        assert!(!name("www.example.com").eq_ignore_case(&name("www.example.co")));
        assert_eq!(Name(b"\x03a.b\x02\\\xff\x00".to_vec()).to_string(), "a\\046b.\\092\\255.");
    }

    #[test]
    fn query_layout() {
        let q = build_query(0xbeef, &name("go.dev"), TYPE_AAAA);
        assert_eq!(
            q,
            [
                &[0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1][..],
                b"\x02go\x03dev\x00",
                &[0, 28, 0, 1],
                &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0],
            ]
            .concat()
        );
        // A query parses as a message with one question and no answers.
        let m = Message::parse(&q).unwrap();
        assert_eq!(m.header.id, 0xbeef);
        assert!(!m.header.response && m.header.recursion_desired);
        assert_eq!(m.questions, vec![Question { name: name("go.dev"), qtype: TYPE_AAAA, class: CLASS_INET }]);
        assert!(m.answers.is_empty());
    }

    fn answer(an: Vec<Resource>) -> Message {
        Message {
            header: Header {
                id: 7,
                response: true,
                recursion_desired: true,
                recursion_available: true,
                ..Header::default()
            },
            questions: vec![Question { name: name("www.example.com"), qtype: TYPE_A, class: CLASS_INET }],
            answers: an,
        }
    }

    #[test]
    fn encode_parse_round_trip() {
        let m = answer(vec![
            Resource {
                name: name("www.example.com"),
                rtype: TYPE_CNAME,
                class: CLASS_INET,
                ttl: 300,
                data: RData::Cname(name("web.example.net")),
            },
            Resource {
                name: name("web.example.net"),
                rtype: TYPE_A,
                class: CLASS_INET,
                ttl: 60,
                data: RData::A(Ipv4Addr::new(192, 0, 2, 7)),
            },
            Resource {
                name: name("web.example.net"),
                rtype: TYPE_AAAA,
                class: CLASS_INET,
                ttl: 60,
                data: RData::Aaaa("2001:db8::7".parse().unwrap()),
            },
            Resource { name: name("x"), rtype: 16, class: CLASS_INET, ttl: 1, data: RData::Other },
        ]);
        let mut m2 = m.clone();
        m2.header.truncated = true;
        m2.header.authoritative = true;
        m2.header.rcode = RCODE_NAME_ERROR;
        for m in [m, m2] {
            assert_eq!(Message::parse(&encode(&m)).unwrap(), m);
        }
    }

    #[test]
    fn compression_pointers() {
        // Header (1 question, 2 answers), question www.example.com A IN at offset 12,
        // answer 1: pointer to 12, CNAME -> "web" + pointer to "example.com" (offset 16);
        // answer 2: pointer to the CNAME's data, A 1.2.3.4.
        let mut b = vec![0, 7, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        b.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6]);
        let cname_at = b.len();
        b.extend_from_slice(b"\x03web\xc0\x10");
        b.extend_from_slice(&[0xc0, cname_at as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
        let m = Message::parse(&b).unwrap();
        assert_eq!(m.answers[0].name, name("www.example.com"));
        assert_eq!(m.answers[0].data, RData::Cname(name("web.example.com")));
        assert_eq!(m.answers[1].name, name("web.example.com"));
        assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(1, 2, 3, 4)));
        assert!(m.header.recursion_available && m.header.response);

        // Every truncation of a valid message is malformed, never a panic.
        for n in 0..b.len() {
            assert_eq!(Message::parse(&b[..n]), Err(Malformed), "cut at {n}");
        }
    }

    #[test]
    fn hostile_input() {
        let hdr = |qd: u8, an: u8| vec![0, 1, 0x81, 0x80, 0, qd, 0, an, 0, 0, 0, 0];
        // A pointer to itself, and two pointers pointing at each other.
        let mut b = hdr(1, 0);
        b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&b), Err(Malformed));
        let mut b = hdr(1, 0);
        b.extend_from_slice(&[1, b'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&b), Err(Malformed));
        // A forward pointer.
        let mut b = hdr(1, 0);
        b.extend_from_slice(&[0xc0, 14, 0, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&b), Err(Malformed));
        // A name longer than 255 bytes through pointers into a long run of labels.
        let mut b = hdr(2, 0);
        for _ in 0..4 {
            b.push(63);
            b.extend_from_slice(&[b'x'; 63]);
        }
        b.extend_from_slice(&[0, 0, 1, 0, 1]);
        b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&b), Err(Malformed));
        // Reserved label types.
        for t in [0x40, 0x80] {
            let mut b = hdr(1, 0);
            b.extend_from_slice(&[t, 0, 0, 1, 0, 1]);
            assert_eq!(Message::parse(&b), Err(Malformed));
        }
        // Counts the bytes cannot hold.
        assert_eq!(Message::parse(&hdr(255, 255)), Err(Malformed));
        // A with 5 bytes, AAAA with 4, CNAME data longer than its name, CNAME data shorter.
        for (t, data) in [
            (TYPE_A, &[1u8, 2, 3, 4, 5][..]),
            (TYPE_AAAA, &[1, 2, 3, 4]),
            (TYPE_CNAME, &[0, 0]),
            (TYPE_CNAME, &[1, b'a']),
        ] {
            let mut b = hdr(0, 1);
            b.extend_from_slice(&[0, (t >> 8) as u8, t as u8, 0, 1, 0, 0, 0, 1, 0, data.len() as u8]);
            b.extend_from_slice(data);
            assert_eq!(Message::parse(&b), Err(Malformed), "type {t} data {data:?}");
        }
        // rdlength past the end.
        let mut b = hdr(0, 1);
        b.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 1, 2, 3, 4]);
        assert_eq!(Message::parse(&b), Err(Malformed));
    }
}
