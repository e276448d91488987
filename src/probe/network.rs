//! Address checks that keep connection tests off the operator's own network.
//!
//! A host name is resolved once, every resolved address is classified, and the
//! connection then goes to the checked `SocketAddr`. Connecting by name again
//! would let a DNS server return a different address the second time (DNS
//! rebinding).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Maximum time to wait for the system resolver.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Maximum length of a DNS name, in bytes (RFC 1035).
const MAX_HOST_LEN: usize = 253;

/// An IPv4 or IPv6 network in CIDR notation, such as `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// Parses `address/prefix_len`, or a bare address as a single-address
    /// network (/32 for IPv4, /128 for IPv6). Addresses with bits set after
    /// the prefix, such as `10.1.2.3/8`, are rejected because they usually
    /// mean a typing mistake.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address_text, prefix_text) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address_text
            .parse()
            .map_err(|_| format!("invalid CIDR {text:?}: {address_text:?} is not an IP address"))?;
        let max_len = max_prefix_len(network);
        let prefix_len = match prefix_text {
            None => max_len,
            Some(prefix) => parse_prefix_len(prefix, max_len).ok_or_else(|| {
                format!("invalid CIDR {text:?}: the prefix length must be 0 to {max_len}")
            })?,
        };

        let cidr = Self {
            network,
            prefix_len,
        };
        if cidr.masked() != network {
            return Err(format!(
                "invalid CIDR {text:?}: bits are set after the /{prefix_len} prefix \
                 (the network address is {})",
                cidr.masked()
            ));
        }
        Ok(cidr)
    }

    /// Reports whether `ip` is inside this network. IPv4 networks never
    /// contain IPv6 addresses and the reverse.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = v4_mask(self.prefix_len);
                u32::from(ip) & mask == u32::from(network) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = v6_mask(self.prefix_len);
                u128::from(ip) & mask == u128::from(network) & mask
            }
            _ => false,
        }
    }

    fn masked(&self) -> IpAddr {
        match self.network {
            IpAddr::V4(network) => IpAddr::V4(Ipv4Addr::from(
                u32::from(network) & v4_mask(self.prefix_len),
            )),
            IpAddr::V6(network) => IpAddr::V6(Ipv6Addr::from(
                u128::from(network) & v6_mask(self.prefix_len),
            )),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

fn max_prefix_len(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Parses a decimal prefix length; signs and other characters are rejected.
fn parse_prefix_len(text: &str, max_len: u8) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|len| *len <= max_len)
}

fn v4_mask(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0)
}

fn v6_mask(prefix_len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix_len))
        .unwrap_or(0)
}

/// The reason an address is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// 127.0.0.0/8 and ::1.
    Loopback,
    /// RFC 1918 networks, IPv6 unique local fc00::/7, deprecated IPv6
    /// site-local fec0::/10 and the local-use NAT64 prefix 64:ff9b:1::/48.
    Private,
    /// 169.254.0.0/16 and fe80::/10.
    LinkLocal,
    /// Cloud instance metadata and platform endpoints.
    Metadata,
    /// Carrier-grade NAT shared address space, 100.64.0.0/10 (RFC 6598).
    SharedAddressSpace,
    /// 0.0.0.0 and ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32 and 3fff::/20.
    Documentation,
    /// 198.18.0.0/15 and 2001:2::/48.
    Benchmarking,
    /// Other special-purpose and unassigned ranges, such as 0.0.0.0/8,
    /// 192.0.0.0/24, 240.0.0.0/4 and IPv6 outside 2000::/3.
    Reserved,
}

impl Blocked {
    /// Describes the address kind with an article, for "resolves to …".
    pub fn description(self) -> &'static str {
        match self {
            Blocked::Loopback => "a loopback address",
            Blocked::Private => "a private address",
            Blocked::LinkLocal => "a link-local address",
            Blocked::Metadata => "a cloud metadata address",
            Blocked::SharedAddressSpace => "a carrier-grade NAT address",
            Blocked::Unspecified => "the unspecified address",
            Blocked::Broadcast => "the broadcast address",
            Blocked::Multicast => "a multicast address",
            Blocked::Documentation => "a documentation address",
            Blocked::Benchmarking => "a benchmarking address",
            Blocked::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Returns why `ip` must not be used as a destination, or `None` for a public
/// address. IPv6 forms that carry an IPv4 address (mapped ::ffff:0:0/96,
/// NAT64 64:ff9b::/96 and 6to4 2002::/16) are classified by that IPv4 address.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

/// IPv4 ranges checked in order, so that a single address such as a metadata
/// endpoint wins over the wider range that contains it.
const V4_RANGES: &[([u8; 4], u8, Blocked)] = &[
    // AWS, GCP, Azure, Oracle Cloud and others serve instance metadata here.
    ([169, 254, 169, 254], 32, Blocked::Metadata),
    // Alibaba Cloud instance metadata.
    ([100, 100, 100, 200], 32, Blocked::Metadata),
    // Azure platform endpoint (WireServer), reachable from Azure virtual machines.
    ([168, 63, 129, 16], 32, Blocked::Metadata),
    ([0, 0, 0, 0], 32, Blocked::Unspecified),
    ([0, 0, 0, 0], 8, Blocked::Reserved),
    ([127, 0, 0, 0], 8, Blocked::Loopback),
    ([10, 0, 0, 0], 8, Blocked::Private),
    ([172, 16, 0, 0], 12, Blocked::Private),
    ([192, 168, 0, 0], 16, Blocked::Private),
    ([169, 254, 0, 0], 16, Blocked::LinkLocal),
    ([100, 64, 0, 0], 10, Blocked::SharedAddressSpace),
    // IETF protocol assignments (RFC 6890).
    ([192, 0, 0, 0], 24, Blocked::Reserved),
    ([192, 0, 2, 0], 24, Blocked::Documentation),
    ([198, 51, 100, 0], 24, Blocked::Documentation),
    ([203, 0, 113, 0], 24, Blocked::Documentation),
    ([198, 18, 0, 0], 15, Blocked::Benchmarking),
    // Deprecated 6to4 relay anycast (RFC 7526).
    ([192, 88, 99, 0], 24, Blocked::Reserved),
    ([255, 255, 255, 255], 32, Blocked::Broadcast),
    ([224, 0, 0, 0], 4, Blocked::Multicast),
    ([240, 0, 0, 0], 4, Blocked::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    let address = u32::from(ip);
    V4_RANGES
        .iter()
        .find(|(network, prefix_len, _)| {
            let mask = v4_mask(*prefix_len);
            address & mask == u32::from(Ipv4Addr::from(*network)) & mask
        })
        .map(|(_, _, reason)| *reason)
}

/// IPv6 ranges checked in order after the forms that embed IPv4 addresses.
const V6_RANGES: &[(u128, u8, Blocked)] = &[
    (0, 128, Blocked::Unspecified),
    (1, 128, Blocked::Loopback),
    // AWS instance metadata over IPv6.
    (
        0xfd00_0ec2_0000_0000_0000_0000_0000_0254,
        128,
        Blocked::Metadata,
    ),
    // Local-use NAT64 prefix (RFC 8215); its translations are site-specific.
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        Blocked::Private,
    ),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        Blocked::Documentation,
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        Blocked::Documentation,
    ),
    (
        0x2001_0002_0000_0000_0000_0000_0000_0000,
        48,
        Blocked::Benchmarking,
    ),
    // IETF protocol assignments, including Teredo 2001::/32.
    (
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        23,
        Blocked::Reserved,
    ),
    // Discard-only prefix (RFC 6666).
    (
        0x0100_0000_0000_0000_0000_0000_0000_0000,
        64,
        Blocked::Reserved,
    ),
    (
        0xfc00_0000_0000_0000_0000_0000_0000_0000,
        7,
        Blocked::Private,
    ),
    // Deprecated site-local addresses.
    (
        0xfec0_0000_0000_0000_0000_0000_0000_0000,
        10,
        Blocked::Private,
    ),
    (
        0xfe80_0000_0000_0000_0000_0000_0000_0000,
        10,
        Blocked::LinkLocal,
    ),
    (
        0xff00_0000_0000_0000_0000_0000_0000_0000,
        8,
        Blocked::Multicast,
    ),
];

/// Global unicast space, 2000::/3. Everything outside it that no earlier
/// rule names is reserved or unassigned.
const V6_GLOBAL_UNICAST: u128 = 0x2000_0000_0000_0000_0000_0000_0000_0000;

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    if let Some(embedded) = embedded_v4(ip) {
        return classify_v4(embedded);
    }

    let address = u128::from(ip);
    let listed = V6_RANGES
        .iter()
        .find(|(network, prefix_len, _)| {
            let mask = v6_mask(*prefix_len);
            address & mask == network & mask
        })
        .map(|(_, _, reason)| *reason);
    if listed.is_some() {
        return listed;
    }

    let mask = v6_mask(3);
    if address & mask != V6_GLOBAL_UNICAST {
        return Some(Blocked::Reserved);
    }
    None
}

/// Returns the IPv4 address carried by an IPv4-mapped (::ffff:0:0/96),
/// NAT64 well-known prefix (64:ff9b::/96) or 6to4 (2002::/16) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let address = u128::from(ip);
    let low_32 = Ipv4Addr::from((address & 0xffff_ffff) as u32);

    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    if address >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low_32);
    }
    if address >> 112 == 0x2002 {
        // 6to4 puts the IPv4 address in bits 16..48, right after the prefix.
        return Some(Ipv4Addr::from(((address >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// The networks that connection tests may reach although `classify` blocks
/// them. The default allows nothing extra.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    allowed: Vec<Cidr>,
}

impl NetworkPolicy {
    /// Parses a comma-separated list of CIDRs or bare addresses, such as
    /// `127.0.0.1/32,::1`. Empty entries are ignored, so an empty text gives
    /// the default policy.
    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { allowed })
    }

    /// Returns the networks allowed in addition to public addresses.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allowed
    }

    /// Accepts `ip` when it is a public address or inside an allowed network.
    /// An IPv4-mapped IPv6 address also matches allowed IPv4 networks.
    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        let Some(reason) = classify(ip) else {
            return Ok(());
        };
        let canonical = ip.to_canonical();
        let allowed = self
            .allowed
            .iter()
            .any(|cidr| cidr.contains(ip) || cidr.contains(canonical));
        if allowed { Ok(()) } else { Err(reason) }
    }
}

/// A host that connection tests must not or cannot reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost { host: String, reason: &'static str },
    #[error("host {host} was not found")]
    HostNotFound { host: String },
    #[error("host {host} resolves to {reason}")]
    AddressNotAllowed { host: String, reason: Blocked },
    #[error("resolving host {host} timed out")]
    ResolveTimeout { host: String },
}

/// Resolves `host` and checks every address against `policy` before anything
/// connects. A name with any blocked address is rejected, even when other
/// addresses are public. IPv4-mapped IPv6 results are returned as IPv4.
///
/// Callers must connect to the returned addresses and never resolve the name
/// again. A literal IPv6 address may be written in brackets.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    policy: &NetworkPolicy,
) -> Result<Vec<SocketAddr>, ProbeError> {
    let host = normalize_host(host)?;

    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)));
    let resolved = match lookup.await {
        Err(_elapsed) => {
            return Err(ProbeError::ResolveTimeout {
                host: host.to_owned(),
            });
        }
        Ok(Err(_lookup_error)) => {
            return Err(ProbeError::HostNotFound {
                host: host.to_owned(),
            });
        }
        Ok(Ok(addresses)) => addresses,
    };

    let mut addresses: Vec<SocketAddr> = Vec::new();
    for address in resolved {
        let address = SocketAddr::new(address.ip().to_canonical(), address.port());
        policy
            .check(address.ip())
            .map_err(|reason| ProbeError::AddressNotAllowed {
                host: host.to_owned(),
                reason,
            })?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }

    if addresses.is_empty() {
        return Err(ProbeError::HostNotFound {
            host: host.to_owned(),
        });
    }
    Ok(addresses)
}

/// Trims `host`, removes brackets around an IPv6 literal and rejects text that
/// cannot be a host name or IP address.
fn normalize_host(host: &str) -> Result<&str, ProbeError> {
    let invalid = |reason| ProbeError::InvalidHost {
        host: host.to_owned(),
        reason,
    };

    let trimmed = host.trim();
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);

    if unbracketed.is_empty() {
        return Err(invalid("the host is empty"));
    }
    if unbracketed.len() > MAX_HOST_LEN {
        return Err(invalid("the host is longer than 253 characters"));
    }
    let allowed_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':');
    if !unbracketed.bytes().all(allowed_byte) {
        return Err(invalid(
            "a host may contain only letters, digits, '.', '-', '_' and ':' (IPv6), \
             without a scheme, path or port",
        ));
    }
    Ok(unbracketed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn classify_v4_ranges() {
        let cases = [
            ("127.0.0.1", Some(Blocked::Loopback)),
            ("127.255.255.255", Some(Blocked::Loopback)),
            ("10.0.0.0", Some(Blocked::Private)),
            ("10.255.255.255", Some(Blocked::Private)),
            ("172.16.0.0", Some(Blocked::Private)),
            ("172.31.255.255", Some(Blocked::Private)),
            ("192.168.0.1", Some(Blocked::Private)),
            ("192.168.255.255", Some(Blocked::Private)),
            ("169.254.0.1", Some(Blocked::LinkLocal)),
            ("169.254.169.123", Some(Blocked::LinkLocal)),
            ("169.254.169.254", Some(Blocked::Metadata)),
            ("100.100.100.200", Some(Blocked::Metadata)),
            ("168.63.129.16", Some(Blocked::Metadata)),
            ("100.64.0.0", Some(Blocked::SharedAddressSpace)),
            ("100.127.255.255", Some(Blocked::SharedAddressSpace)),
            ("0.0.0.0", Some(Blocked::Unspecified)),
            ("0.1.2.3", Some(Blocked::Reserved)),
            ("255.255.255.255", Some(Blocked::Broadcast)),
            ("224.0.0.1", Some(Blocked::Multicast)),
            ("239.255.255.250", Some(Blocked::Multicast)),
            ("240.0.0.1", Some(Blocked::Reserved)),
            ("255.255.255.254", Some(Blocked::Reserved)),
            ("192.0.0.8", Some(Blocked::Reserved)),
            ("192.0.0.255", Some(Blocked::Reserved)),
            ("192.0.2.1", Some(Blocked::Documentation)),
            ("198.51.100.7", Some(Blocked::Documentation)),
            ("203.0.113.200", Some(Blocked::Documentation)),
            ("198.18.0.0", Some(Blocked::Benchmarking)),
            ("198.19.255.255", Some(Blocked::Benchmarking)),
            ("192.88.99.1", Some(Blocked::Reserved)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("93.184.216.34", None),
        ];
        for (address, expected) in cases {
            assert_eq!(classify(ip(address)), expected, "classify({address})");
        }
    }

    #[test]
    fn classify_v4_boundaries() {
        let cases = [
            ("9.255.255.255", None),
            ("11.0.0.0", None),
            ("172.15.255.255", None),
            ("172.16.0.0", Some(Blocked::Private)),
            ("172.31.255.255", Some(Blocked::Private)),
            ("172.32.0.0", None),
            ("192.167.255.255", None),
            ("192.169.0.0", None),
            ("100.63.255.255", None),
            ("100.64.0.0", Some(Blocked::SharedAddressSpace)),
            ("100.127.255.255", Some(Blocked::SharedAddressSpace)),
            ("100.128.0.0", None),
            ("169.253.255.255", None),
            ("169.255.0.0", None),
            ("126.255.255.255", None),
            ("128.0.0.0", None),
            ("1.0.0.0", None),
            ("191.255.255.255", None),
            ("192.0.1.0", None),
            ("198.17.255.255", None),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
        ];
        for (address, expected) in cases {
            assert_eq!(classify(ip(address)), expected, "classify({address})");
        }
    }

    #[test]
    fn classify_v6_ranges() {
        let cases = [
            ("::", Some(Blocked::Unspecified)),
            ("::1", Some(Blocked::Loopback)),
            ("fc00::1", Some(Blocked::Private)),
            ("fdff:ffff::1", Some(Blocked::Private)),
            ("fec0::1", Some(Blocked::Private)),
            ("fd00:ec2::254", Some(Blocked::Metadata)),
            ("fd00:ec2::253", Some(Blocked::Private)),
            ("fe80::1", Some(Blocked::LinkLocal)),
            ("febf:ffff::1", Some(Blocked::LinkLocal)),
            ("ff02::1", Some(Blocked::Multicast)),
            ("2001:db8::1", Some(Blocked::Documentation)),
            ("3fff::1", Some(Blocked::Documentation)),
            ("2001:2::1", Some(Blocked::Benchmarking)),
            ("2001::1", Some(Blocked::Reserved)),
            ("100::1", Some(Blocked::Reserved)),
            ("64:ff9b:1::1", Some(Blocked::Private)),
            // IPv4-compatible (deprecated) and other addresses outside 2000::/3.
            ("::10.0.0.1", Some(Blocked::Reserved)),
            ("::8.8.8.8", Some(Blocked::Reserved)),
            ("4000::1", Some(Blocked::Reserved)),
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001:80b::200e", None),
            ("3ffe:ffff::1", None),
        ];
        for (address, expected) in cases {
            assert_eq!(classify(ip(address)), expected, "classify({address})");
        }
    }

    #[test]
    fn classify_embedded_v4() {
        let cases = [
            ("::ffff:127.0.0.1", Some(Blocked::Loopback)),
            ("::ffff:10.1.2.3", Some(Blocked::Private)),
            ("::ffff:169.254.169.254", Some(Blocked::Metadata)),
            ("::ffff:100.64.0.1", Some(Blocked::SharedAddressSpace)),
            ("::ffff:0.0.0.0", Some(Blocked::Unspecified)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::127.0.0.1", Some(Blocked::Loopback)),
            ("64:ff9b::192.168.1.1", Some(Blocked::Private)),
            ("64:ff9b::a9fe:a9fe", Some(Blocked::Metadata)),
            ("64:ff9b::8.8.8.8", None),
            // 2002:7f00:0001:: embeds 127.0.0.1, 2002:0a00:0001:: embeds 10.0.0.1.
            ("2002:7f00:1::", Some(Blocked::Loopback)),
            ("2002:a00:1::1", Some(Blocked::Private)),
            ("2002:a9fe:a9fe::", Some(Blocked::Metadata)),
            ("2002:808:808::1", None),
        ];
        for (address, expected) in cases {
            assert_eq!(classify(ip(address)), expected, "classify({address})");
        }
    }

    #[test]
    fn cidr_parse_forms() {
        let single_v4 = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(single_v4.to_string(), "127.0.0.1/32");

        let single_v6 = Cidr::parse("::1").unwrap();
        assert_eq!(single_v6.to_string(), "::1/128");

        let network = Cidr::parse(" 10.0.0.0/8 ").unwrap();
        assert!(network.contains(ip("10.200.3.4")));
        assert!(!network.contains(ip("11.0.0.0")));
        assert!(!network.contains(ip("::ffff:10.0.0.1")));

        let everything = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(everything.contains(ip("255.255.255.255")));
        assert!(!everything.contains(ip("::1")));

        let v6_network = Cidr::parse("fd00::/8").unwrap();
        assert!(v6_network.contains(ip("fdff::1")));
        assert!(!v6_network.contains(ip("fc00::1")));
    }

    #[test]
    fn cidr_parse_rejects_invalid() {
        let cases = [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "example.com/32",
            "10.1.2.3/8",
            "fd00::1/8",
        ];
        for text in cases {
            assert!(
                Cidr::parse(text).is_err(),
                "Cidr::parse({text:?}) should fail"
            );
        }
    }

    #[test]
    fn policy_parse_list() {
        let policy = NetworkPolicy::parse("127.0.0.1/32, ::1/128,,10.0.0.0/8,").unwrap();
        let allowed: Vec<String> = policy.allowed().iter().map(Cidr::to_string).collect();
        assert_eq!(allowed, ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]);

        assert_eq!(NetworkPolicy::parse("").unwrap(), NetworkPolicy::default());
        assert_eq!(
            NetworkPolicy::parse(" , ").unwrap(),
            NetworkPolicy::default()
        );

        let error = NetworkPolicy::parse("127.0.0.1/32,not-an-ip").unwrap_err();
        assert!(error.contains("not-an-ip"), "{error}");
    }

    #[test]
    fn policy_default_blocks() {
        let policy = NetworkPolicy::default();
        assert_eq!(policy.check(ip("127.0.0.1")), Err(Blocked::Loopback));
        assert_eq!(policy.check(ip("10.0.0.1")), Err(Blocked::Private));
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), Err(Blocked::Loopback));
        assert_eq!(policy.check(ip("8.8.8.8")), Ok(()));
        assert_eq!(policy.check(ip("2606:4700:4700::1111")), Ok(()));
    }

    #[test]
    fn policy_allow_single_loopback() {
        let policy = NetworkPolicy::parse("127.0.0.1/32").unwrap();
        assert_eq!(policy.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(policy.check(ip("127.0.0.2")), Err(Blocked::Loopback));
        assert_eq!(policy.check(ip("::1")), Err(Blocked::Loopback));
        assert_eq!(policy.check(ip("10.0.0.1")), Err(Blocked::Private));
        assert_eq!(policy.check(ip("169.254.169.254")), Err(Blocked::Metadata));
    }

    #[test]
    fn policy_allow_private_network() {
        let policy = NetworkPolicy::parse("10.20.0.0/16,fd12:3456::/32").unwrap();
        assert_eq!(policy.check(ip("10.20.255.1")), Ok(()));
        assert_eq!(policy.check(ip("10.21.0.1")), Err(Blocked::Private));
        assert_eq!(policy.check(ip("fd12:3456::9")), Ok(()));
        assert_eq!(policy.check(ip("fd12:3457::9")), Err(Blocked::Private));
    }

    #[test]
    fn normalize_host_cases() {
        assert_eq!(normalize_host(" db.example.com "), Ok("db.example.com"));
        assert_eq!(normalize_host("[::1]"), Ok("::1"));
        assert_eq!(normalize_host("10.0.0.1"), Ok("10.0.0.1"));

        let rejected = [
            "",
            "   ",
            "[]",
            "postgres://db.example.com",
            "db.example.com/path",
            "db example.com",
            "db.exa\nmple.com",
            "/var/run/postgresql",
            "user@db.example.com",
        ];
        for host in rejected {
            let result = normalize_host(host);
            assert!(
                matches!(result, Err(ProbeError::InvalidHost { .. })),
                "normalize_host({host:?}) returned {result:?}"
            );
        }

        let long_host = "a".repeat(MAX_HOST_LEN + 1);
        assert!(normalize_host(&long_host).is_err());
    }

    // The hosts below are IP literals or `localhost`, which the system
    // resolver resolves without network traffic. Nothing connects.
    #[tokio::test]
    async fn resolve_rejects_blocked_literals() {
        let policy = NetworkPolicy::default();
        let cases = [
            ("127.0.0.1", Blocked::Loopback),
            ("[::1]", Blocked::Loopback),
            ("10.1.2.3", Blocked::Private),
            ("169.254.169.254", Blocked::Metadata),
            ("::ffff:192.168.0.1", Blocked::Private),
            ("0.0.0.0", Blocked::Unspecified),
        ];
        for (host, reason) in cases {
            let result = resolve_checked(host, 5432, &policy).await;
            assert!(
                matches!(result, Err(ProbeError::AddressNotAllowed { reason: r, .. }) if r == reason),
                "resolve_checked({host:?}) returned {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn resolve_rejects_localhost() {
        let result = resolve_checked("localhost", 5432, &NetworkPolicy::default()).await;
        assert!(
            matches!(
                result,
                Err(ProbeError::AddressNotAllowed {
                    reason: Blocked::Loopback,
                    ..
                })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn resolve_rejects_empty_host() {
        let result = resolve_checked("", 5432, &NetworkPolicy::default()).await;
        assert!(
            matches!(result, Err(ProbeError::InvalidHost { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn resolve_allows_listed_literal() {
        let policy = NetworkPolicy::parse("127.0.0.1/32").unwrap();
        let addresses = resolve_checked("127.0.0.1", 5432, &policy).await.unwrap();
        assert_eq!(addresses, [SocketAddr::from(([127, 0, 0, 1], 5432))]);

        let mapped = resolve_checked("::ffff:127.0.0.1", 5432, &policy)
            .await
            .unwrap();
        assert_eq!(mapped, [SocketAddr::from(([127, 0, 0, 1], 5432))]);

        let other = resolve_checked("127.0.0.2", 5432, &policy).await;
        assert!(
            matches!(other, Err(ProbeError::AddressNotAllowed { .. })),
            "{other:?}"
        );
    }
}
