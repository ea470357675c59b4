//! The client address a rate limit keys on: the socket peer, or — only when the peer is a trusted
//! proxy — the rightmost untrusted hop of `X-Forwarded-For` (or RFC 7239 `Forwarded`).

use actix_web::http::header::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// An address block from `rate_limits.trusted_proxies` (`10.0.0.0/8`, `::1/128`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address (a host block).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{s}`: the prefix length must be 0..={max}")),
            },
        };
        Ok(Cidr {
            net: mask(net, prefix),
            prefix,
        })
    }

    /// Whether `ip` lies in this block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.net.is_ipv4() && mask(ip, self.prefix) == self.net
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Which header trusted proxies append the client address to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// Most hops read from the forwarding header (the rest, leftmost, are ignored).
const MAX_HOPS: usize = 32;

/// The address to key on. From an untrusted peer the forwarding headers are ignored (anyone can
/// write them); from a trusted proxy the hops are read right to left and the first one that is
/// not itself a trusted proxy is the client. A hop that is not an address (`unknown`, an
/// obfuscated identifier, garbage) stops the walk at the last address seen.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[Cidr],
    which: ForwardedHeader,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let name = match which {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let values: Vec<&str> = headers.get_all(name).filter_map(|v| v.to_str().ok()).collect();
    let mut client = peer;
    let hops = values.iter().rev().flat_map(|v| v.rsplit(','));
    for hop in hops.take(MAX_HOPS) {
        let parsed = match which {
            ForwardedHeader::XForwardedFor => parse_node(hop),
            ForwardedHeader::Forwarded => forwarded_for(hop).and_then(parse_node),
        };
        match parsed {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    return Some(ip);
                }
            }
            None => return Some(client),
        }
    }
    Some(client)
}

/// `for=` of one `Forwarded` element (`for=1.2.3.4;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `"[::1]:80"`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn h(name: &str, values: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in values {
            m.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn cidr_parsing_and_membership() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains(ip("10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.1")));
        assert!(Cidr::parse("127.0.0.1").expect("host").contains(ip("127.0.0.1")));
        assert!(Cidr::parse("::1/128").expect("v6").contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten/8").is_err());
        assert!(Cidr::parse("10.0.0.0/x").is_err());
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let trusted = [
            Cidr::parse("127.0.0.1/32").expect("c"),
            Cidr::parse("10.0.0.0/8").expect("c"),
        ];
        let xff = ForwardedHeader::XForwardedFor;
        let spoof = h("x-forwarded-for", &["1.1.1.1"]);
        // Untrusted peer: the header is ignored.
        assert_eq!(
            client_ip(Some(ip("9.9.9.9")), &spoof, &trusted, xff),
            Some(ip("9.9.9.9"))
        );
        // Trusted peer: the rightmost untrusted hop.
        let chain = h("x-forwarded-for", &["6.6.6.6, 2.2.2.2", "10.0.0.5"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &chain, &trusted, xff),
            Some(ip("2.2.2.2"))
        );
        // All hops trusted: the leftmost.
        let inner = h("x-forwarded-for", &["10.0.0.9, 10.0.0.5"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &inner, &trusted, xff),
            Some(ip("10.0.0.9"))
        );
        // Garbage stops the walk at the last address seen.
        let junk = h("x-forwarded-for", &["1.1.1.1, junk, 10.0.0.5"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &junk, &trusted, xff),
            Some(ip("10.0.0.5"))
        );
        // No header: the peer.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &HeaderMap::new(), &trusted, xff),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(client_ip(None, &spoof, &trusted, xff), None);
    }

    #[test]
    fn rfc7239_forwarded() {
        let trusted = [Cidr::parse("127.0.0.1").expect("c")];
        let f = h(
            "forwarded",
            &["for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\""],
        );
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &f, &trusted, ForwardedHeader::Forwarded),
            Some(ip("2001:db8:cafe::17"))
        );
        let unknown = h("forwarded", &["for=unknown"]);
        assert_eq!(
            client_ip(
                Some(ip("127.0.0.1")),
                &unknown,
                &trusted,
                ForwardedHeader::Forwarded
            ),
            Some(ip("127.0.0.1"))
        );
    }
}
